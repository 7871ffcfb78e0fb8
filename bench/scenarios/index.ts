/** The scenarios, in the order `npm run bench` runs them. */
import type { Scenario } from '../lib/scenario.js';
import { cancel } from './cancel.js';
import { cpuScaling } from './cpu-scaling.js';
import { eventLoop } from './event-loop.js';
import { latency } from './latency.js';
import { overhead } from './overhead.js';
import { priority } from './priority.js';
import { progressFlood } from './progress-flood.js';
import { scale } from './scale.js';

export const scenarios: Scenario[] = [overhead, priority, latency, cpuScaling, eventLoop, cancel, scale, progressFlood];
