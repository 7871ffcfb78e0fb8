// BullMQ's sandboxed processor (run in its worker threads): the same work, taken from job.data.
import type { SandboxedJob } from 'bullmq';
import { doWork, type Work } from '../lib/work.js';

export default async function process(job: SandboxedJob<Work>): Promise<number> {
  return doWork(job.data);
}
