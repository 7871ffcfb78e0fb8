/**
 * The live tasks by id: one Map, then a second once it holds MAP_CAP of them, and so on.
 *
 * A JS Map grows by copying its whole table into one twice the size, synchronously, the
 * moment an insert finds it full (measured here: 2.7 ms at 65k entries, 5.5 ms at 131k,
 * 10 ms at 262k, 51-65 ms at 524k and 1M): a host holding a million queued tasks froze for
 * that long in one turn, while submitting them and again while reopening the store. Capped
 * at MAP_CAP, no Map ever copies more than 131k entries. Below the cap (every flow of the
 * benchmarks but `scale`) there is one Map and nothing changes.
 *
 * Spread over 256 small Maps instead (by id), the same growth cost nothing per copy, but a
 * flow of 100k no-ops took ~8% longer and its event-loop p99 rose 9.5 -> 10.6 ms: small
 * tables live in the young generation, which copies them as they grow.
 *
 * New ids always go to the newest Map and older Maps only lose entries, so iteration (Map
 * by Map) is in insertion order, as a single Map's would be.
 */
const MAP_CAP = 1 << 17;

export class TaskLedger<T> {
  /** Oldest first; never empty. */
  readonly #maps: Map<string, T>[] = [new Map<string, T>()];
  #size = 0;

  /** `cap`: entries per Map at most (a parameter for tests). */
  constructor(private readonly cap = MAP_CAP) {}

  get size(): number {
    return this.#size;
  }

  get(id: string): T | undefined {
    const maps = this.#maps;
    for (let i = maps.length - 1; i >= 0; i--) {
      const value = maps[i]!.get(id);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds a task under an id the ledger does not hold (ids are new: a task is added once). */
  add(id: string, value: T): void {
    let newest = this.#maps[this.#maps.length - 1]!;
    if (newest.size >= this.cap) this.#maps.push((newest = new Map<string, T>()));
    newest.set(id, value);
    this.#size++;
  }

  delete(id: string): boolean {
    const maps = this.#maps;
    for (let i = maps.length - 1; i >= 0; i--) {
      const map = maps[i]!;
      if (!map.delete(id)) continue;
      this.#size--;
      // An emptied older Map goes: lookups walk the list.
      if (map.size === 0 && i < maps.length - 1) maps.splice(i, 1);
      return true;
    }
    return false;
  }

  /** Safe to delete from meanwhile, as a Map's own iteration is. */
  *values(): IterableIterator<T> {
    for (const map of [...this.#maps]) yield* map.values();
  }
}
