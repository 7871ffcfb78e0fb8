/**
 * Whether the store is doing what the runtime asks of it: writing batches and, on a shared
 * queue, claiming and keeping leases. Each part that talks to the store tells of its own
 * failures and successes; the host hears once when the first part starts failing and once
 * when the last one works again (one warning per episode, not one per failed write), and
 * `health$` carries the same news to code that wants to react (show a banner, stop taking
 * uploads).
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import type { StoreHealth } from '../types.js';

/** The parts of a runtime that write to or read from the store on their own. */
export type HealthSource = 'writes' | 'claims' | 'leases' | 'schedules';

export class StoreHealthMonitor {
  readonly #failing = new Map<HealthSource, unknown>();
  readonly #state = new BehaviorSubject<StoreHealth>({ status: 'ok', since: Date.now() });
  readonly #where: string;

  /** The current state first, then each change; completes when the runtime closes. */
  readonly health$: Observable<StoreHealth> = this.#state.asObservable();

  /** `where` names the store in warnings (a file, or a queue on a server). */
  constructor(where: string) {
    this.#where = where;
  }

  get current(): StoreHealth {
    return this.#state.value;
  }

  failing(source: HealthSource, error: unknown): void {
    const wasOk = this.#failing.size === 0;
    this.#failing.set(source, error);
    if (!wasOk) return;
    const code = (error as { code?: unknown })?.code;
    process.emitWarning(
      `offthread: the store (${this.#where}) is failing (${String(code ?? 'an error')}); what it could not do is tried again until it can: ${String(error)}`,
    );
    this.#state.next({ status: 'failing', since: Date.now(), error: error instanceof Error ? error : new Error(String(error)) });
  }

  /** Called after each success of a part: cheap when nothing was failing. */
  working(source: HealthSource): void {
    if (this.#failing.size === 0 || !this.#failing.delete(source) || this.#failing.size > 0) return;
    process.emitWarning(`offthread: the store (${this.#where}) works again.`);
    this.#state.next({ status: 'ok', since: Date.now() });
  }

  close(): void {
    this.#state.complete();
  }
}
