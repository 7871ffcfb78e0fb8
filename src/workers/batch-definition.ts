/**
 * How a batch handler (defineBatchTask) travels inside its task definition: under a symbol,
 * so the worker finds it and the public definition type stays the one every handler has.
 */
import type { BatchHandler, TaskDefinition } from '../worker.js';

export interface BatchDefinition {
  handler: BatchHandler;
  maxBatch: number;
  maxWaitMs: number;
}

export const BATCH = Symbol.for('offthread.batch');

/** The largest `maxBatch` of a batch handler: each thread keeps control slots for one call this large. */
export const MAX_BATCH = 1000;

/** The batch handler of a definition made by defineBatchTask, or undefined. */
export function batchOf(definition: TaskDefinition): BatchDefinition | undefined {
  return (definition as unknown as Record<symbol, BatchDefinition | undefined>)[BATCH];
}
