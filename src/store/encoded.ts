/**
 * A value already in the store's encoding (v8 serialization, as structured clone uses).
 * Payloads are encoded once by `submit` (which is also the cloneability check) and results
 * by the worker that produced them; the store writes such bytes as they are.
 */
export class EncodedValue {
  constructor(readonly bytes: Uint8Array) {}
}
