// Handlers the benchmarks run through offthread.
import { defineTask } from 'offthread/worker';

export const noop = defineTask(() => undefined);
