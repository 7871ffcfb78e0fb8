/**
 * The two ways the shared-queue throughput benchmark hands tasks to a queue: one add call per
 * task, each task's result awaited on its own (the path an app writes when it submits where
 * the work arises), all of them at once; or every task in one bulk call, then all awaited.
 */
export type SubmitMode = 'each' | 'bulk';

/** Starts `count` flows of `one` at once and resolves when all have. */
export async function eachAtOnce(count: number, one: () => Promise<unknown>): Promise<void> {
  const flows = new Array<Promise<unknown>>(count);
  for (let i = 0; i < count; i++) flows[i] = one();
  await Promise.all(flows);
}
