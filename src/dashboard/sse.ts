/**
 * Server-Sent Events to the open pages. Changes are coalesced: at most one message per
 * COALESCE_MS, naming the tasks that changed since the last one, so a flood of progress
 * events costs each page a few re-reads per second at most. A comment every HEARTBEAT_MS
 * keeps proxies from closing an idle stream. Timers run only while a page listens.
 */
import type { ServerResponse } from 'node:http';

const COALESCE_MS = 250;
/**
 * While changes come in floods (more than MAX_IDS tasks between two messages), at most one
 * message per FLOOD_MS: each makes every page re-read and redraw what it shows, and the
 * browser shares the machine with the runtime. One task's change is told within COALESCE_MS.
 */
const FLOOD_MS = 1000;
const HEARTBEAT_MS = 15_000;
/** Past this many ids in one message, a page re-reads whatever it shows anyway. */
const MAX_IDS = 100;

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly changed = new Set<string>();
  private anyChange = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastFlush = 0;

  constructor(private readonly onListeners: (count: number) => void = () => undefined) {}

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
      this.onListeners(this.clients.size);
    });
    this.heartbeat ??= setInterval(() => this.write(': keep-alive\n\n'), HEARTBEAT_MS).unref();
    this.onListeners(this.clients.size);
  }

  /** Notes a change (of one task, or of anything when `taskId` is omitted); sent coalesced. */
  change(taskId?: string): void {
    if (this.clients.size === 0) return;
    this.anyChange = true;
    if (taskId !== undefined && this.changed.size <= MAX_IDS) this.changed.add(taskId);
    if (this.flushTimer !== undefined) return;
    const wait = Math.max(0, this.lastFlush + COALESCE_MS - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  close(): void {
    clearTimeout(this.flushTimer);
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (!this.anyChange) return;
    const now = Date.now();
    if (this.changed.size > MAX_IDS && now < this.lastFlush + FLOOD_MS) {
      this.flushTimer = setTimeout(() => this.flush(), this.lastFlush + FLOOD_MS - now);
      return;
    }
    this.lastFlush = now;
    const ids = this.changed.size > MAX_IDS ? null : [...this.changed];
    this.changed.clear();
    this.anyChange = false;
    this.write(`event: change\ndata: ${JSON.stringify({ at: this.lastFlush, tasks: ids })}\n\n`);
  }

  private write(text: string): void {
    for (const res of this.clients) res.write(text);
  }
}
