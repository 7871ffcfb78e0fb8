// Poolifier's worker: a ThreadWorker wrapping the same work every contender does.
import { ThreadWorker } from 'poolifier';
import { doWork, type Work } from '../lib/work.js';

export default new ThreadWorker<Work, number>((work) => doWork(work as Work));
