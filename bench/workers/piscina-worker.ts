// Raw Piscina's worker: the same work offthread's handler does.
import { doWork, type Work } from '../lib/work.js';

export default function run(work: Work): number {
  return doWork(work);
}
