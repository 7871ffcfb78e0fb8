// Raw Piscina's worker for the baseline: the same no-op work offthread's handler does.
export default function noop(): undefined {
  return undefined;
}
