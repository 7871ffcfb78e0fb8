/**
 * What may start now: per-type caps (defineTask's `concurrency`), rates per type (`rate`),
 * and per group (`groups` at open, `setGroupLimits`) a cap and a rate. Each limited type or
 * group has a gate. A task a gate refuses is parked at that gate, in a heap of its own so it
 * keeps its place, and stays `queued`: the dispatcher goes on with other ready tasks (no
 * head-of-line blocking), and the main heap never skips over it again and again. It goes
 * back to the main heap when its gate has room: a run of the gate's ended (a cap), or the
 * oldest start of the window is older than `perMs` (a rate: one timer per gate, for then).
 *
 * A rate holds at most `count` starts in any window of `perMs`: the gate keeps the times of
 * its last `count` starts, and a start is allowed once the oldest of them is `perMs` old.
 * A start is counted when the task is sent to its thread.
 */
import type { GroupLimits, RateLimit } from '../types.js';
import type { LiveTask } from './live-task.js';
import { TaskQueue } from './task-queue.js';

class Gate {
  /** Its tasks sent and not yet back: a set, not a count, so a gate made after they were sent is not miscounted. */
  readonly inFlight = new Set<LiveTask>();
  /** The times of the last `rate.count` starts, oldest first (a ring). */
  readonly #starts: number[] = [];
  #oldest = 0;
  readonly parked = new TaskQueue<LiveTask>();
  timer: NodeJS.Timeout | undefined;

  constructor(
    public cap: number | undefined,
    public rate: RateLimit | undefined,
  ) {}

  /** Whether one more may start now, `extra` of this gate's tasks already in the batch being built. */
  allows(now: number, extra: number): boolean {
    if (this.cap !== undefined && this.inFlight.size + extra >= this.cap) return false;
    return this.#rateAllows(now, extra);
  }

  /** When a start refused by the rate will be allowed (epoch ms), or undefined if the rate does not refuse it. */
  freeAt(now: number): number | undefined {
    if (this.rate === undefined || this.#rateAllows(now, 0)) return undefined;
    return this.#at(this.#starts.length - this.rate.count) + this.rate.perMs;
  }

  /**
   * Fewer than `count - extra` starts inside the window: the start that many back from the
   * newest (the starts are kept in time order) is outside it. O(1): asked for every task.
   */
  #rateAllows(now: number, extra: number): boolean {
    if (this.rate === undefined) return true;
    const need = this.rate.count - extra;
    if (need <= 0) return false;
    const length = this.#starts.length;
    return length < need || this.#at(length - need) <= now - this.rate.perMs;
  }

  started(at: number): void {
    if (this.rate === undefined) return;
    if (this.#starts.length < this.rate.count) {
      this.#starts.push(at);
      return;
    }
    this.#starts[this.#oldest] = at;
    this.#oldest = (this.#oldest + 1) % this.#starts.length;
  }

  /** Nothing to remember: no task in flight or parked, no start inside its window. */
  idle(now: number): boolean {
    if (this.inFlight.size > 0 || this.parked.peek() !== undefined) return false;
    const length = this.#starts.length;
    return this.rate === undefined || length === 0 || this.#at(length - 1) <= now - this.rate.perMs;
  }

  /** The i-th start kept, oldest first. */
  #at(i: number): number {
    return this.#starts[(this.#oldest + i) % this.#starts.length]!;
  }

  /** A rate changed: the starts kept are the newest, as many as the new count. */
  resize(): void {
    const ordered = [...this.#starts.slice(this.#oldest), ...this.#starts.slice(0, this.#oldest)];
    const keep = this.rate === undefined ? [] : ordered.slice(-this.rate.count);
    this.#starts.length = 0;
    this.#starts.push(...keep);
    this.#oldest = 0;
  }
}

export interface DispatchLimitsOptions {
  /** Per type: its cap and rate (defineTask). */
  types: ReadonlyMap<string, { concurrency?: number; rate?: RateLimit }>;
  /** Per group: its limits; `default` for groups without their own. */
  groups: Readonly<Record<string, GroupLimits>>;
  /** Parked tasks may go: back into the main heap, and the dispatcher woken. */
  release(tasks: LiveTask[]): void;
  /** The group's tasks running now (for limits set while some run). */
  runningOf(group: string): LiveTask[];
  now?: () => number;
}

export class DispatchLimits {
  readonly #types = new Map<string, Gate>();
  readonly #groups = new Map<string, Gate>();
  readonly #groupLimits = new Map<string, GroupLimits>();
  #groupDefault: GroupLimits | undefined;
  readonly #release: (tasks: LiveTask[]) => void;
  readonly #runningOf: (group: string) => LiveTask[];
  readonly #now: () => number;

  constructor(options: DispatchLimitsOptions) {
    for (const [type, { concurrency, rate }] of options.types) {
      if (concurrency !== undefined || rate !== undefined) this.#types.set(type, new Gate(concurrency, rate));
    }
    for (const [group, limits] of Object.entries(options.groups)) {
      if (group === 'default') this.#groupDefault = limits;
      else this.#groupLimits.set(group, limits);
    }
    this.#release = options.release;
    this.#runningOf = options.runningOf;
    this.#now = options.now ?? Date.now;
  }

  /** Whether any limit applies at all: without, the dispatcher asks nothing per task. */
  get limited(): boolean {
    return this.#types.size > 0 || this.#groupLimits.size > 0 || this.#groupDefault !== undefined;
  }

  /** The gate that refuses one more of this task now (`batch`: tasks already taken with it), if any. */
  refusing(task: LiveTask, batch: readonly LiveTask[] = []): Gate | undefined {
    const now = this.#now();
    const type = this.#types.get(task.type);
    if (type !== undefined && !type.allows(now, count(batch, (t) => t.type === task.type))) return type;
    const group = this.#groupGate(task.group);
    if (group !== undefined && !group.allows(now, count(batch, (t) => t.group === task.group))) return group;
    return undefined;
  }

  /**
   * Whether a start rate applies to the task (its type's or its group's). Such a task goes
   * to a free thread alone, never in a batch nor queued behind another call: a rate counts
   * starts when tasks are sent, so they must start when sent.
   */
  rated(task: LiveTask): boolean {
    if (this.#types.get(task.type)?.rate !== undefined) return true;
    return task.group !== null && this.#groupGate(task.group)?.rate !== undefined;
  }

  /** Parks a task its gate refused, until the gate has room. */
  /** Tasks parked at a gate (one cancelled while parked counts until its entry is dropped). */
  get parked(): number {
    let n = 0;
    for (const gate of this.#types.values()) n += gate.parked.size;
    for (const gate of this.#groups.values()) n += gate.parked.size;
    return n;
  }

  park(task: LiveTask, gate: Gate): void {
    gate.parked.push(task);
    this.#armTimer(gate);
  }

  sent(task: LiveTask): void {
    const at = this.#now();
    for (const gate of [this.#types.get(task.type), this.#groupGate(task.group)]) {
      if (gate === undefined) continue;
      gate.inFlight.add(task);
      gate.started(at);
    }
  }

  /** A task left its call: its gates have room for a parked task, if their rates allow. */
  ended(task: LiveTask): void {
    const released: LiveTask[] = [];
    const type = this.#types.get(task.type);
    if (type !== undefined && type.inFlight.delete(task)) this.#unpark(type, released);
    const group = task.group === null ? undefined : this.#groups.get(task.group);
    if (group !== undefined && group.inFlight.delete(task)) {
      this.#unpark(group, released);
      // Many groups (tenants) come and go: a gate with nothing to remember goes.
      if (group.idle(this.#now())) this.#groups.delete(task.group!);
    }
    if (released.length > 0) this.#release(released);
  }

  /** New limits for a group (null: back to `default`); parked tasks the new limits allow go at once. */
  setGroupLimits(group: string, limits: GroupLimits | null): void {
    if (limits === null) this.#groupLimits.delete(group);
    else this.#groupLimits.set(group, limits);
    const gate = this.#groupGate(group);
    if (gate === undefined) return;
    // Its tasks running now count against a cap set while they run.
    for (const task of this.#runningOf(group)) gate.inFlight.add(task);
    const effective = this.#limitsOf(group);
    gate.cap = effective?.concurrency;
    gate.rate = effective?.rate;
    gate.resize();
    const released: LiveTask[] = [];
    this.#unpark(gate, released);
    if (released.length > 0) this.#release(released);
  }

  close(): void {
    for (const gate of [...this.#types.values(), ...this.#groups.values()]) clearTimeout(gate.timer);
  }

  #unpark(gate: Gate, released: LiveTask[]): void {
    const now = this.#now();
    let taken = 0;
    while (gate.allows(now, taken)) {
      const task = gate.parked.pop();
      if (task === undefined) break;
      released.push(task);
      taken++;
    }
    this.#armTimer(gate);
  }

  /** One timer a gate, for when its rate lets the next parked task start. */
  #armTimer(gate: Gate): void {
    if (gate.timer !== undefined || gate.parked.peek() === undefined) return;
    const at = gate.freeAt(this.#now());
    if (at === undefined) return; // its cap: an ended run frees it
    gate.timer = setTimeout(() => {
      gate.timer = undefined;
      const released: LiveTask[] = [];
      this.#unpark(gate, released);
      if (released.length > 0) this.#release(released);
    }, Math.max(0, at - this.#now()));
  }

  #groupGate(group: string | null): Gate | undefined {
    if (group === null) return undefined;
    let gate = this.#groups.get(group);
    if (gate === undefined) {
      const limits = this.#limitsOf(group);
      if (limits === undefined || (limits.concurrency === undefined && limits.rate === undefined)) return undefined;
      this.#groups.set(group, (gate = new Gate(limits.concurrency, limits.rate)));
    }
    return gate;
  }

  #limitsOf(group: string): GroupLimits | undefined {
    return this.#groupLimits.get(group) ?? this.#groupDefault;
  }
}

function count(batch: readonly LiveTask[], same: (task: LiveTask) => boolean): number {
  let n = 0;
  for (const task of batch) if (same(task)) n++;
  return n;
}
