/**
 * The README's first example, handler side: kept here so that it compiles with the build
 * and runs in test/types/typed-runtime.test.ts. Change README.md with it.
 */
import { defineTask } from 'offthread/worker';

export const wordCount = defineTask(async (payload: { texts: string[] }, ctx) => {
  let words = 0;
  for (const [i, text] of payload.texts.entries()) {
    await ctx.checkpoint(); // pause point; throws an AbortError once cancelled
    words += text.split(/\s+/).filter(Boolean).length;
    ctx.progress(((i + 1) / payload.texts.length) * 100, `text ${i + 1}`);
  }
  return { words };
});
