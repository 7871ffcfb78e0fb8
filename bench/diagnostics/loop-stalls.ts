/**
 * Where the event loop's long turns go, for the event-loop scenario's flow (100k no-op tasks
 * submitted at once). Records every gap of more than 10 ms between turns (process.hrtime, the
 * clock CPU profiles use) and, given the CPU profile of the same run, the functions that were
 * on the CPU during those gaps:
 *
 *   node --cpu-prof --cpu-prof-interval 100 --cpu-prof-dir=/tmp/prof dist/bench/diagnostics/loop-stalls.js submit file
 *   node dist/bench/diagnostics/loop-stalls.js --explain /tmp/prof/<the .cpuprofile> /tmp/offthread-stalls.json
 *
 * Modes: `submit` (a loop of submit()) or `many` (one submitMany()); store: `memory` or `file`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskRuntime } from 'offthread';
import { HANDLERS } from '../contenders.js';

const GAP_US = 10_000;
const OUT = join(tmpdir(), 'offthread-stalls.json');
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function record(mode: string, store: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-stalls-'));
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: store === 'file' ? join(dir, 'stalls.db') : ':memory:', concurrency: 2 });
  try {
    await rt.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
    await rt.whenIdle();
    const gaps: Array<[number, number]> = [];
    let last = nowUs();
    const timer = setInterval(() => {
      const now = nowUs();
      if (now - last > GAP_US) gaps.push([last, now]);
      last = now;
    }, 1);
    const count = 100_000;
    if (mode === 'many') await rt.submitMany(Array.from({ length: count }, () => ({ type: 'noop', payload: 'noop' })));
    else await Promise.all(Array.from({ length: count }, () => rt.submit('noop', 'noop')));
    await rt.whenIdle();
    clearInterval(timer);
    writeFileSync(OUT, JSON.stringify(gaps));
    console.log(`${mode} ${store}: ${gaps.length} turns over ${GAP_US / 1000} ms: ${gaps.map(([a, b]) => Math.round((b - a) / 1000)).join(' ')} (written to ${OUT})`);
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

function explain(profileFile: string, gapsFile: string): void {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;
  const gaps = JSON.parse(readFileSync(gapsFile, 'utf8')) as Array<[number, number]>;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const perGap = gaps.map(() => new Map<string, number>());
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    const g = gaps.findIndex(([a, b]) => t >= a && t <= b);
    if (g < 0) continue;
    const { functionName, url, lineNumber } = nodes.get(profile.samples[i]!)!.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    perGap[g]!.set(key, (perGap[g]!.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  gaps.forEach(([a, b], i) => {
    const top = [...perGap[i]!].sort((x, y) => y[1] - x[1]).slice(0, 3);
    console.log(`${Math.round((b - a) / 1000)} ms: ${top.map(([k, us]) => `${k} ${(us / 1000).toFixed(1)} ms`).join(', ')}`);
  });
}

const [first, second, third] = process.argv.slice(2);
if (first === '--explain') explain(second!, third ?? OUT);
else await record(first ?? 'submit', second ?? 'memory');
