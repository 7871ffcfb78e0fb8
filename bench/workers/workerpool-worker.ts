// workerpool's worker: registers the same work every contender does as method `doWork`.
import workerpool from 'workerpool';
import { doWork } from '../lib/work.js';

workerpool.worker({ doWork });
