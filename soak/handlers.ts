/**
 * Handlers of the soak runs, built to dist/soak/handlers.js so that worker threads import
 * the same built package as the hosts.
 */
import { appendFileSync } from 'node:fs';
import { defineTask } from 'offthread/worker';

/** What the model host offers the blocker handler through `ctx.host` (a type, so it fits `services`). */
export type BlockerServices = {
  /** true once the task is released; false when the host wants the handler at a checkpoint. */
  nextTurn(id: string): Promise<boolean>;
};

/**
 * Runs until released, so the model knows it cannot have completed before. It waits on the
 * host between checkpoints, not on time: the host answers false whenever a pause or cancel
 * was asked, so the handler reaches `ctx.checkpoint()` and the pause or cancel takes hold.
 */
export const blocker = defineTask(async (_payload: unknown, ctx) => {
  const host = ctx.host as unknown as BlockerServices;
  for (;;) {
    await ctx.checkpoint();
    if (await host.nextTurn(ctx.id)) return ctx.attempt;
  }
});

/** Returns at once: it may complete any time after its submit. */
export const quick = defineTask((_payload: unknown, ctx) => ctx.attempt);

/**
 * A few milliseconds of CPU with checkpoints and progress, as real work would have. Each
 * run logs its start and end with the host incarnation it ran under (SOAK_LOG,
 * SOAK_INCARNATION), so the kill soak can count re-executions from the handler's side.
 */
export const work = defineTask(async ({ spins }: { spins: number }, ctx) => {
  const log = (line: string) => appendFileSync(process.env.SOAK_LOG!, `${line}\n`);
  const incarnation = process.env.SOAK_INCARNATION;
  log(`start ${ctx.id} ${incarnation} ${ctx.attempt}`);
  let x = 0;
  for (let i = 0; i < spins; i++) {
    for (let j = 0; j < 20_000; j++) x = (x * 31 + j) % 1_000_003;
    await ctx.checkpoint();
    ctx.progress(((i + 1) / spins) * 100);
  }
  log(`end ${ctx.id} ${incarnation} ${ctx.attempt}`);
  return x;
});
