/**
 * The reference model of the model run: what the status of each acknowledged task may be
 * now, from the documented lifecycle alone (docs/guides/lifecycle.md, docs/api.md), never
 * from how the scheduler decides. Where the documentation leaves an outcome open because
 * it depends on timing (a task may or may not have been taken by a thread yet; a task that
 * runs to its end may beat a pause to it), the model accepts each documented outcome and
 * learns the fact it implies, so later answers must agree with it.
 *
 * The handlers make the rest predictable: a `blocker` never ends until the model run
 * releases it, so an unreleased live task cannot be completed; a `quick` task (and a
 * released blocker) may complete at any moment once it is not paused.
 */
import type { Priority, TaskStatus } from 'offthread';
import type { HostError, Snapshot, TaskKind, TaskView } from './protocol.js';

/**
 * live: neither paused nor finished (queued or running, as the scheduler pleases);
 * paused; or finished, which is for good.
 */
export type Phase = 'live' | 'paused' | 'completed' | 'cancelled';

export interface ModelTask {
  readonly id: string;
  readonly kind: TaskKind;
  priority: Priority;
  /** May end by itself: a quick task, or a blocker the run has released. */
  mayEnd: boolean;
  phase: Phase;
  /**
   * For a paused task: whether its run started in this incarnation (it sleeps at a
   * checkpoint and holds a thread) or not (held back before it started). Learnt from
   * what the runtime said; undefined while nothing said it.
   */
  startedHere: boolean | undefined;
  /** A live task whose setPriority was refused as started: it can no longer be queued. */
  mustHaveStarted: boolean;
}

export type ControlOp = 'cancel' | 'pause' | 'resume' | 'setPriority';

export type Outcome = { ok: true } | { ok: false; error: HostError };

export class ModelViolation extends Error {
  override name = 'ModelViolation';
}

const FINISHED: readonly Phase[] = ['completed', 'cancelled'];

function isFinished(phase: Phase): boolean {
  return FINISHED.includes(phase);
}

function describe(outcome: Outcome): string {
  return outcome.ok ? 'resolved' : `rejected with ${outcome.error.offthread ? '' : 'a raw error '}${outcome.error.code}: ${outcome.error.message}`;
}

export class Model {
  readonly tasks: ModelTask[] = [];
  /** Date.now() of the host just before the current runtime was opened. */
  openedAt = 0;

  /** The statuses a task may show now. */
  allowed(task: ModelTask): TaskStatus[] {
    switch (task.phase) {
      case 'live':
        return task.mayEnd ? ['queued', 'running', 'completed'] : ['queued', 'running'];
      case 'paused':
        return ['paused'];
      default:
        return [task.phase];
    }
  }

  submitted(id: string, kind: TaskKind, priority: Priority): void {
    if (this.tasks.some((task) => task.id === id)) throw new ModelViolation(`submit returned the id ${id} twice`);
    this.tasks.push({ id, kind, priority, mayEnd: kind === 'quick', phase: 'live', startedHere: undefined, mustHaveStarted: false });
  }

  released(task: ModelTask): void {
    task.mayEnd = true;
  }

  /**
   * Checks the answer to a pause, resume, cancel or setPriority of a task against the
   * lifecycle table, and moves the model along.
   */
  controlled(task: ModelTask, op: ControlOp, outcome: Outcome, priority?: Priority): void {
    const refused = !outcome.ok && outcome.error.offthread && outcome.error.code === 'ERR_INVALID_TRANSITION';
    const fail = (expected: string) => {
      throw new ModelViolation(`${op}(${task.id}) of a ${task.phase} ${task.kind} task ${describe(outcome)}; expected ${expected}`);
    };
    if (!outcome.ok && !refused) fail('to resolve or be refused with ERR_INVALID_TRANSITION');
    // Every move out of a finished task is refused, and the task stays as it was.
    if (isFinished(task.phase)) {
      if (!refused) fail('ERR_INVALID_TRANSITION (it has finished)');
      return;
    }
    // A task that may end by itself can end before a pause or cancel reaches it: then it is
    // refused and the task must have completed.
    const endedFirst = () => {
      if (!task.mayEnd || task.phase !== 'live') fail('to resolve (the task cannot end by itself)');
      task.phase = 'completed';
    };
    switch (op) {
      case 'cancel':
        if (outcome.ok) task.phase = 'cancelled';
        else endedFirst();
        return;
      case 'pause':
        if (task.phase === 'paused') {
          if (!refused) fail('ERR_INVALID_TRANSITION (already paused)');
          return;
        }
        if (outcome.ok) {
          task.phase = 'paused';
          // Whether its thread sleeps at a checkpoint or it was held back, the next check
          // learns from startedAt. Not from an earlier refused setPriority: a run counted
          // when its task was sent, which its thread had not begun, is undone by a pause
          // (the task is held back; attempts and startedAt go back).
          task.startedHere = undefined;
          task.mustHaveStarted = false;
        } else endedFirst();
        return;
      case 'resume':
        if (task.phase === 'live') {
          if (!refused) fail('ERR_INVALID_TRANSITION (not paused)');
          return;
        }
        // A paused task cannot end while paused, so nothing may beat the resume.
        if (!outcome.ok) fail('to resolve (it is paused)');
        task.phase = 'live';
        task.mustHaveStarted = task.startedHere === true;
        task.startedHere = undefined;
        return;
      case 'setPriority':
        if (task.phase === 'paused' && task.startedHere !== undefined) {
          if (task.startedHere && outcome.ok) fail('ERR_INVALID_TRANSITION (it started, and sleeps at a checkpoint)');
          if (!task.startedHere && !outcome.ok) fail('to resolve (paused before it started)');
        }
        if (outcome.ok) {
          if (task.mustHaveStarted) fail('ERR_INVALID_TRANSITION (it was refused before as started)');
          task.priority = priority!;
          if (task.phase === 'paused') task.startedHere = false;
        } else if (task.phase === 'paused') task.startedHere = true;
        else task.mustHaveStarted = true;
        return;
    }
  }

  /** A command for an id never submitted. */
  unknown(op: ControlOp, outcome: Outcome): void {
    if (outcome.ok || !outcome.error.offthread || outcome.error.code !== 'ERR_TASK_NOT_FOUND') {
      throw new ModelViolation(`${op} of an unknown id ${describe(outcome)}; expected ERR_TASK_NOT_FOUND`);
    }
  }

  /**
   * A new runtime on the same file, after close() or after a SIGKILL of the host. Every
   * acknowledged task is there: finished ones as they finished, paused ones paused (now held
   * back, not started: their threads are gone), live ones queued or running again. What
   * the model holds was committed before the kill: each command is followed by a check
   * whose list() commits every change announced before it.
   */
  reopened(openedAt: number): void {
    this.openedAt = openedAt;
    for (const task of this.tasks) {
      task.mustHaveStarted = false;
      if (task.phase === 'paused') task.startedHere = false;
    }
  }

  /** Checks what get(), list() and stats() said against the model, and learns from it. */
  observed(snapshot: Snapshot): void {
    const problems: string[] = [];
    const listed = new Map<string, TaskView>();
    for (const view of snapshot.list) {
      if (listed.has(view.id)) problems.push(`list() gave ${view.id} twice`);
      listed.set(view.id, view);
    }
    if (snapshot.list.length !== this.tasks.length) problems.push(`list() gave ${snapshot.list.length} tasks; ${this.tasks.length} were acknowledged`);
    this.tasks.forEach((task, i) => {
      const allowed = this.allowed(task);
      const got = snapshot.gets[i] ?? null;
      const inList = listed.get(task.id);
      const what = `${task.kind} task ${task.id} (${task.phase}${task.mayEnd && task.phase === 'live' ? ', may end' : ''})`;
      if (got === null) return void problems.push(`get() lost the ${what}`);
      if (inList === undefined) return void problems.push(`list() lost the ${what}`);
      for (const [source, view] of [['get()', got], ['list()', inList]] as const) {
        if (!allowed.includes(view.status)) problems.push(`${source} says ${view.status} for the ${what}; allowed: ${allowed.join(', ')}`);
        if (view.priority !== task.priority) problems.push(`${source} says priority ${view.priority} for the ${what}; set: ${task.priority}`);
      }
      // list() reads after get(): what get() saw finished stays finished.
      if ((got.status === 'completed' || got.status === 'cancelled') && inList.status !== got.status) {
        problems.push(`get() said ${got.status}, the list() after it ${inList.status}, for the ${what}`);
      }
      const startedHere = got.startedAt !== null && got.startedAt >= this.openedAt;
      // In one incarnation, with no retries, a run that started never gives its task back to the queue.
      if (got.status === 'running' && !startedHere) problems.push(`get() says running for the ${what}, but no run of it started since open (startedAt ${got.startedAt})`);
      if (got.status === 'queued' && startedHere) problems.push(`get() says queued for the ${what}, but a run of it started since open`);
      if (got.status === 'queued' && task.mustHaveStarted) problems.push(`get() says queued for the ${what}, after setPriority was refused as started`);
      if (got.status === 'running' && got.attempts < 1) problems.push(`get() says running with ${got.attempts} attempts for the ${what}`);
      if (task.phase === 'paused' && got.status === 'paused') {
        if (task.startedHere !== undefined && task.startedHere !== startedHere) {
          problems.push(`the paused ${what} ${task.startedHere ? 'slept at a checkpoint' : 'was held back before it started'}, but get() says it ${startedHere ? 'started' : 'did not start'} since open`);
        }
        task.startedHere = startedHere;
      }
      // A task may end by itself any time; once list() (a committed read) says it did, it has.
      if (task.phase === 'live' && inList.status === 'completed') task.phase = 'completed';
    });
    for (const id of listed.keys()) if (!this.tasks.some((task) => task.id === id)) problems.push(`list() gave ${id}, which was never acknowledged`);
    this.checkStats(snapshot, problems);
    if (problems.length > 0) throw new ModelViolation(problems.join('\n'));
  }

  private checkStats({ stats }: Snapshot, problems: string[]): void {
    const count = (phase: Phase, mayEnd?: boolean) =>
      this.tasks.filter((task) => task.phase === phase && (mayEnd === undefined || task.mayEnd === mayEnd)).length;
    const live = count('live');
    const completed = count('completed');
    const mayComplete = count('live', true);
    const expect = (what: string, ok: boolean, wanted: string) => ok || problems.push(`stats() ${what}; expected ${wanted} (${JSON.stringify(stats)})`);
    expect(`total ${stats.total}`, stats.total === this.tasks.length, `${this.tasks.length}`);
    expect(`paused ${stats.paused}`, stats.paused === count('paused'), `${count('paused')}`);
    expect(`cancelled ${stats.cancelled}`, stats.cancelled === count('cancelled'), `${count('cancelled')}`);
    expect(`failed ${stats.failed}`, stats.failed === 0, '0');
    expect(`completed ${stats.completed}`, stats.completed >= completed && stats.completed <= completed + mayComplete, `${completed} to ${completed + mayComplete}`);
    const unfinishedOrDone = stats.queued + stats.running + stats.completed;
    expect(`queued + running + completed ${unfinishedOrDone}`, unfinishedOrDone === live + completed, `${live + completed}`);
  }
}
