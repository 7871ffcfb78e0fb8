// Handlers of the type-rate benchmark on a shared queue (PostgreSQL): a type with a start
// rate, apart from shared-queue-handlers.ts so the other benchmarks' hosts have no rated type
// (a host with one claims through the counting transaction).
import { defineTask } from 'offthread/worker';

/** Returns at once; at most 20 start in any 100 ms across the queue's hosts. */
export const paced = defineTask(() => null, { rate: { count: 20, perMs: 100 } });
