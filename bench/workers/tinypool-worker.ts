// Tinypool's worker: the same work every contender does.
import { doWork, type Work } from '../lib/work.js';

export default function run(work: Work): number {
  return doWork(work);
}
