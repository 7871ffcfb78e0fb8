/**
 * A value already in the store's encoding (v8 serialization, as structured clone uses).
 * Payloads are encoded once by `submit` (which is also the cloneability check) and results
 * by the worker that produced them; the store writes such bytes as they are.
 */
export class EncodedValue {
  /**
   * `start`/`end`: where the bytes sit in `source`. Small payloads share one slab
   * (./plain-encoder.ts), so a task waiting for its INSERT holds this object alone, not a
   * view of its own as well: a burst of 100k submits has half as many objects for the
   * garbage collector to copy.
   */
  constructor(
    private readonly source: Uint8Array,
    private readonly start = 0,
    private readonly end = source.byteLength,
  ) {}

  /** How many bytes: what the store keeps, and what maxPayloadBytes limits. */
  get byteLength(): number {
    return this.end - this.start;
  }

  /** The bytes (a view on demand when they share a slab). */
  get bytes(): Uint8Array {
    const { source, start, end } = this;
    return start === 0 && end === source.byteLength ? source : source.subarray(start, end);
  }
}
