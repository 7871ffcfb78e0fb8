/**
 * `@opentelemetry/api`, an optional peer dependency: imported once (at open on the host; in
 * a worker thread, by its first traced task), never at module load, so an app without it
 * loads nothing and pays nothing. Both sides use it only through what this returns.
 */
import type * as OtelApi from '@opentelemetry/api';

export type TraceApi = typeof OtelApi;

/**
 * The API, or undefined when it is not installed. Any other failure to load it (a broken
 * install) is a warning, not a failed open or a dead thread: tracing is an extra.
 */
export async function loadTraceApi(): Promise<TraceApi | undefined> {
  try {
    return await import('@opentelemetry/api');
  } catch (error) {
    if ((error as { code?: unknown })?.code !== 'ERR_MODULE_NOT_FOUND') {
      process.emitWarning(`offthread: @opentelemetry/api could not be loaded, tasks are not traced: ${String(error)}`);
    }
    return undefined;
  }
}
