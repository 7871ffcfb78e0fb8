/**
 * What every benchmark contender (offthread, raw Piscina, peers) offers the scenarios:
 * set up with a number of threads, run many tasks to the end, run one and await it.
 */
import type { Work } from './work.js';

export interface Contender {
  readonly name: string;
  setup(threads: number): Promise<void>;
  /** Runs `count` tasks of `work`, all submitted at once, and resolves when all are done. */
  runMany(count: number, work: Work): Promise<void>;
  /** Runs one task and resolves with it (latency). */
  runOne(work: Work): Promise<void>;
  teardown(): Promise<void>;
}

/** A contender that cannot run here (a peer not installed, a server missing) and says why. */
export class Unavailable extends Error {}
