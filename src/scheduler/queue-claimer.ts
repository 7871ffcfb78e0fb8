/**
 * A host's part in a queue it shares with other hosts (a shared store, such as PostgreSQL):
 * it claims ready tasks when its threads have room, keeps the leases of the tasks it holds,
 * and wakes for tasks that come due. The state owner takes the claimed tasks on (`adopt`)
 * and runs them as it runs any other.
 *
 * When it claims: at start; when the store says tasks became ready (another host submitted,
 * retried, resumed or released some, or finished a parent); when the threads run dry; when
 * the earliest delayed task comes due; and on a slow poll, the safety net for a wake-up
 * lost with a dropped connection, which also takes back the tasks of hosts whose lease
 * lapsed. Never in a loop: one claim at a time, the next only if the last was full or
 * something happened meanwhile.
 */
import type { TaskClaims, TypeRate } from '../store/task-claims.js';
import type { StoreHealthMonitor } from '../streams/store-health.js';
import type { ParentLookup } from './task-states.js';

/** What the claimer needs of the state owner. */
export interface ClaimingHost {
  adopt(rows: Awaited<ReturnType<TaskClaims['claim']>>, lookup: ParentLookup): Promise<void>;
  heldIds(): string[];
  /** Tasks held and not finished (queued or running here). */
  readonly load: number;
}

export interface QueueClaimerOptions {
  store: TaskClaims;
  host: ClaimingHost;
  /** The task types this host runs: it never claims another. */
  types: readonly string[];
  /** The rates of those that have one: a shared store holds them across its hosts. */
  rates?: readonly TypeRate[];
  /** How many tasks it wants to hold at once: its threads' calls and what waits behind them. */
  capacity(): number;
  /** Its threads. */
  threads: number;
  leaseMs: number;
  agingMs: number | null;
  lookup: ParentLookup;
  /**
   * Told when a claim, a renewal or the poll failed (each is tried again later by itself),
   * and when one worked: the host hears once per episode of failures.
   */
  health: Pick<StoreHealthMonitor, 'failing' | 'working'>;
  /** Told of held tasks another host took back: their lease lapsed before it was renewed. */
  onLost(ids: string[]): void;
  /** Told after each renewal that worked: what checks on its held tasks' peers does it then, not on a timer of its own. */
  onRenewed?(): void;
}

/** The safety poll at most this far apart, whatever the lease. */
const MAX_POLL_MS = 10_000;

export class QueueClaimer {
  readonly #options: QueueClaimerOptions;
  #claiming: Promise<void> | undefined;
  /** Something happened during the claim under way: claim again after it. */
  #again = false;
  #started = false;
  #closed = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #dueTimer: NodeJS.Timeout | undefined;
  #dueAt = Infinity;

  constructor(options: QueueClaimerOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#closed) return; // closed before it started
    this.#started = true;
    const { leaseMs } = this.#options;
    // A third of the lease: two renewals may fail (a slow round trip, a busy host) before it lapses.
    this.#renewTimer = setInterval(() => void this.#renew(), leaseMs / 3);
    this.#pollTimer = setInterval(() => void this.#poll(), Math.min(leaseMs / 3, MAX_POLL_MS));
    void this.#poll();
  }

  /**
   * The threads may have room: claims if they do. A claim is a round trip, so while a host
   * of short tasks holds some, it waits until half its capacity is free, and claims that
   * much at once.
   */
  want(): void {
    if (this.#closed || !this.#started) return;
    if (this.#claiming !== undefined) {
      this.#again = true;
      return;
    }
    const capacity = this.#options.capacity();
    const load = this.#options.host.load;
    const room = capacity - load;
    // Short tasks: wait until half the capacity is free, and take that much in one claim.
    // Others: one per free thread, at once.
    if (room <= 0 || (capacity > this.#options.threads && load > 0 && room * 2 < capacity)) return;
    this.#claiming = this.#claim(room);
  }

  /** No more claims or renewals; resolves once a claim under way has handed its tasks over. */
  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewTimer);
    clearInterval(this.#pollTimer);
    clearTimeout(this.#dueTimer);
    await this.#claiming;
  }

  async #claim(limit: number): Promise<void> {
    const { store, host, types, rates, leaseMs, agingMs, lookup } = this.#options;
    let full = false;
    try {
      const now = Date.now();
      const rows = await store.claim({ types, limit, now, leaseUntil: now + leaseMs, agingMs, rates });
      // Taken on even while closing: the owner holds them, and close hands them back.
      if (rows.length > 0) await host.adopt(rows, lookup);
      full = rows.length === limit;
      if (!full && !this.#closed) await this.#armDue();
      this.#options.health.working('claims');
    } catch (error) {
      // The poll tries again: claiming at once after a failure would spin while the server is away.
      this.#again = false;
      this.#options.health.failing('claims', error);
    } finally {
      this.#claiming = undefined;
    }
    if (this.#again || full) {
      this.#again = false;
      this.want();
    }
  }

  /** A timer for the earliest delayed task no host holds, if it is sooner than the one set. */
  async #armDue(): Promise<void> {
    const now = Date.now();
    const at = await this.#options.store.nextDue(this.#options.types, now);
    if (at === null || this.#closed || at >= this.#dueAt) return;
    clearTimeout(this.#dueTimer);
    this.#dueAt = at;
    this.#dueTimer = setTimeout(() => {
      this.#dueAt = Infinity;
      this.want();
    }, at - now);
  }

  async #renew(): Promise<void> {
    const ids = this.#options.host.heldIds();
    if (ids.length === 0 || this.#closed) return;
    try {
      const kept = new Set(await this.#options.store.renew(ids, Date.now() + this.#options.leaseMs));
      // Those that ended meanwhile were not renewed because they are done, not lost.
      const held = new Set(this.#options.host.heldIds());
      const lost = ids.filter((id) => !kept.has(id) && held.has(id));
      if (lost.length > 0) this.#options.onLost(lost);
      this.#options.health.working('leases');
      this.#options.onRenewed?.();
    } catch (error) {
      this.#options.health.failing('leases', error);
    }
  }

  /** The safety net: takes back lapsed leases, then claims (and re-arms the due timer). */
  async #poll(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#options.store.reclaimLapsed(Date.now());
    } catch (error) {
      // The claim that follows tells whether the store works again.
      this.#options.health.failing('claims', error);
    }
    this.#dueAt = Infinity; // re-armed by the claim if a delayed task is waiting
    this.want();
  }
}
