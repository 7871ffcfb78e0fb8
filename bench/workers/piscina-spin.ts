// A raw Piscina task stuck in a loop (the cancel scenario's reference): only terminating its thread ends it.
export default function spin(): never {
  for (;;) {
    // never yields
  }
}
