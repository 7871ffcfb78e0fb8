/**
 * Overhead: no-op tasks/s, all submitted at once, through raw Piscina, offthread
 * (':memory:' and a file; a submit() per task and one submitMany()) and the peers.
 * The headline rows await every task's result() (as apps do, and as a pool hands back
 * every result); the whenIdle() rows beside them read none. The ratio is to raw Piscina's
 * median, measured in the same rounds.
 */
import { performance } from 'node:perf_hooks';
import { roundRobin, toRows, type Scenario } from '../lib/scenario.js';
import { BASELINE, isFile, isOffthread, peers, variants } from '../registry.js';

export const overhead: Scenario = {
  name: 'overhead',
  summary: 'no-op tasks/s against raw Piscina (same threads)',
  async run(ctx) {
    const count = ctx.quick ? 5_000 : 20_000;
    const factories = [
      variants.raw,
      variants.memoryResults,
      variants.memoryManyResults,
      variants.fileResults,
      variants.fileManyResults,
      variants.unstoredResults,
      variants.unstoredManyResults,
      ...peers.pools(),
      variants.memory,
      variants.memoryMany,
      variants.file,
      variants.fileMany,
      ...peers.durable(),
    ];
    const rr = await roundRobin(ctx, 'overhead', factories, async (c, add) => {
      const start = performance.now();
      await c.runMany(count, 'noop');
      const rate = count / ((performance.now() - start) / 1000);
      add('rate', rate);
      return `${Math.round(rate)}/s`;
    });
    return {
      scenario: 'overhead',
      title: `${count} no-op tasks submitted at once, 2 threads, ${ctx.rounds} rounds; tasks/s`,
      columns: [{ key: 'rate', label: 'tasks/s' }],
      ratioLabel: 'vs raw piscina',
      goal: "every result awaited: >= 2x raw Piscina with ':memory:', >= 1.5x with a file (submitMany: 3x, 2.5x), >= 5x with durable: false; whenIdle(): >= 2x, >= 1x",
      rows: toRows(rr, rr.names, {
        baseline: BASELINE,
        ratioOf: 'rate',
        goal: (name, _m, ratio) => {
          if (!isOffthread(name) || ratio === undefined) return undefined;
          if (name.includes('durable: false')) return { text: '>= 5x', met: ratio >= 5 };
          const many = name.includes('submitMany');
          const want = !name.endsWith('+ result()') ? (isFile(name) ? 1 : 2) : isFile(name) ? (many ? 2.5 : 1.5) : many ? 3 : 2;
          return { text: `>= ${want}x`, met: ratio >= want };
        },
      }),
      notes: [
        "'+ result()' rows await each task's result(), as the pools' rows do; the others submit, then await whenIdle().",
        'durable peers (BullMQ) compare with the offthread file rows: both store every job before it runs.',
        "'durable: false' rows store no task (the runtime's default durable: false): submit and result() wait for no commit.",
        'offthread keeps finished tasks (no retention set), as BullMQ keeps completed jobs; each round starts on a fresh store.',
      ],
    };
  },
};
