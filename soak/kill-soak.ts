/**
 * The kill soak: a host process (kill-host.ts) takes and runs tasks and is SIGKILLed from
 * outside at a random one of its report lines, again and again; each new host re-queues
 * what the last one left and submits a batch of its own. After the last kill a host runs
 * everything to the end, and the soak checks, from the file and the handler's own log:
 *   - every acknowledged task is in the store, completed (none lost), and so is every task;
 *   - every task's handler ran to its end at least once;
 *   - no task started again after a host had reported its completion committed;
 * and reports how many tasks each kill made run again (started under the killed host and
 * again under a later one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openInspector } from 'offthread';
import { between, seeded } from './random.js';
import { readAcks, readRuns } from './run-log.js';
import { builtScript } from './script-path.js';

export interface KillSoakOptions {
  kills: number;
  seed?: number;
  /** Tasks each host submits. */
  batch?: number;
  /** CPU work per task (see handlers.ts `work`): about 0.2 ms a spin. */
  spins?: number;
  /** Called after each kill, with how many so far. */
  onKill?: (kills: number) => void;
}

export interface KillSoakReport {
  seed: number;
  kills: number;
  /** Hosts started, the killed ones and those that got to idle first. */
  incarnations: number;
  acknowledged: number;
  stored: number;
  /** Acknowledged tasks missing from the store or not completed. */
  lost: string[];
  /** Every finding besides lost tasks; empty when the soak passed. */
  problems: string[];
  /** For each kill, the tasks that had started under the killed host and started again later. */
  reexecutionsPerKill: number[];
  reexecutionsMean: number;
  reexecutionsMax: number;
  wallMs: number;
}

const hosts = new Set<ChildProcess>();

/** SIGKILLs any kill host still alive (a soak interrupted by a failure or a timeout). */
export function killLeftoverHosts(): void {
  for (const child of hosts) child.kill('SIGKILL');
  hosts.clear();
}

interface Incarnation {
  killed: boolean;
  done: string[];
  exitCode: number | null;
  sawIdle: boolean;
}

async function incarnation(dir: string, n: number, batch: number, spins: number, killAtLine: number | undefined): Promise<Incarnation> {
  const child = spawn(process.execPath, [builtScript('kill-host'), join(dir, 'tasks.db'), String(batch), String(spins)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SOAK_LOG: join(dir, 'runs.log'), SOAK_ACKS: join(dir, 'acks.log'), SOAK_INCARNATION: String(n) },
  });
  hosts.add(child);
  try {
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const result: Incarnation = { killed: false, done: [], exitCode: null, sawIdle: false };
    let lines = 0;
    for await (const line of createInterface({ input: child.stdout! })) {
      lines++;
      if (line.startsWith('done ')) result.done.push(line.slice(5));
      if (line === 'idle') result.sawIdle = true;
      if (killAtLine !== undefined && lines >= killAtLine && !result.sawIdle) {
        child.kill('SIGKILL');
        result.killed = true;
        break;
      }
    }
    [result.exitCode] = await exited;
    return result;
  } finally {
    hosts.delete(child);
  }
}

export async function runKillSoak(options: KillSoakOptions): Promise<KillSoakReport> {
  const started = Date.now();
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const random = seeded(seed);
  const batch = options.batch ?? 6;
  const spins = options.spins ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'offthread-kill-soak-'));
  writeFileSync(join(dir, 'acks.log'), '');
  writeFileSync(join(dir, 'runs.log'), '');
  const problems: string[] = [];
  /** The first incarnation that reported each task's completion committed. */
  const committedIn = new Map<string, number>();
  const killedIncarnations: number[] = [];
  try {
    let n = 0;
    for (;;) {
      n++;
      const last = killedIncarnations.length >= options.kills;
      // Its lines: "acked", then up to two per task; a host that got to idle first is not a kill.
      const killAt = last ? undefined : between(random, 1, 2 * batch + 2);
      const host = await incarnation(dir, n, batch, spins, killAt);
      for (const id of host.done) if (!committedIn.has(id)) committedIn.set(id, n);
      if (host.killed) {
        killedIncarnations.push(n);
        options.onKill?.(killedIncarnations.length);
      } else if (host.exitCode !== 0 || !host.sawIdle) {
        problems.push(`host ${n} exited with code ${host.exitCode}${host.sawIdle ? '' : ' before idle'}`);
        break;
      } else if (last) break;
    }
    return { ...(await verify(dir, committedIn, killedIncarnations, problems)), seed, incarnations: n, wallMs: Date.now() - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function verify(dir: string, committedIn: Map<string, number>, killed: number[], problems: string[]) {
  const acks = readAcks(join(dir, 'acks.log'));
  const runs = readRuns(join(dir, 'runs.log'));
  const inspector = await openInspector(join(dir, 'tasks.db'));
  let stored;
  try {
    stored = await inspector.list({ limit: 1_000_000 });
  } finally {
    await inspector.close();
  }
  const status = new Map(stored.map((task) => [task.id, task.status]));
  const lost = acks.filter((id) => status.get(id) !== 'completed');
  if (new Set(acks).size !== acks.length) problems.push('an id was acknowledged twice');
  for (const task of stored) if (task.status !== 'completed') problems.push(`task ${task.id} ended ${task.status}`);

  const startsOf = new Map<string, number[]>();
  const ended = new Set<string>();
  for (const run of runs) {
    if (run.kind === 'end') ended.add(run.id);
    else startsOf.set(run.id, [...(startsOf.get(run.id) ?? []), run.incarnation]);
  }
  for (const task of stored) {
    if (!ended.has(task.id)) problems.push(`task ${task.id} is completed, but its handler never got to its end`);
    const committed = committedIn.get(task.id);
    const later = (startsOf.get(task.id) ?? []).filter((n) => committed !== undefined && n > committed);
    if (later.length > 0) problems.push(`task ${task.id} started again under host ${later[0]} after host ${committed} committed its completion`);
  }
  const reexecutionsPerKill = killed.map(
    (n) => [...startsOf.values()].filter((starts) => starts.includes(n) && starts.some((later) => later > n)).length,
  );
  return {
    kills: killed.length,
    acknowledged: acks.length,
    stored: stored.length,
    lost,
    problems,
    reexecutionsPerKill,
    reexecutionsMean: reexecutionsPerKill.length === 0 ? 0 : reexecutionsPerKill.reduce((a, b) => a + b, 0) / reexecutionsPerKill.length,
    reexecutionsMax: Math.max(0, ...reexecutionsPerKill),
  };
}
