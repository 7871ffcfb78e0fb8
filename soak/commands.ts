/**
 * The commands of the model run, for fast-check's `fc.commands`: each runs on the real
 * runtime (through the model host), checks the answer against the model, then checks every
 * task through get(), list() and stats() (Model.observed). Commands on a task pick it by
 * index among the tasks submitted so far, so they shrink well.
 */
import fc from 'fast-check';
import type { Priority } from 'offthread';
import { Model, ModelViolation, type ControlOp, type ModelTask } from './model.js';
import type { ModelSystem } from './model-system.js';
import type { TaskKind } from './protocol.js';

/** What the commands count, for the report and for the tests' checks that things happened. */
export class CommandTally {
  commands = 0;
  readonly outcomes = new Map<string, number>();

  add(what: string): void {
    this.outcomes.set(what, (this.outcomes.get(what) ?? 0) + 1);
  }
}

export interface Real {
  system: ModelSystem;
  tally: CommandTally;
}

type ModelCommand = fc.AsyncCommand<Model, Real, false>;

const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high'];

/**
 * Every command reads all tasks right after it, in the same round trip to the host, and
 * the runtime must agree with the model on each (Model.observed).
 */
function ids(model: Model): string[] {
  return model.tasks.map((task) => task.id);
}

function pick(model: Model, index: number): ModelTask {
  return model.tasks[index % model.tasks.length]!;
}

function releasedIds(model: Model): string[] {
  return model.tasks.filter((task) => task.kind === 'blocker' && task.mayEnd).map((task) => task.id);
}

class Submit implements ModelCommand {
  constructor(
    readonly kind: TaskKind,
    readonly priority: Priority,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    real.tally.commands++;
    const { outcome, value, snapshot } = await real.system.checked({ op: 'submit', kind: this.kind, priority: this.priority }, ids(model));
    if (!outcome.ok) throw new ModelViolation(`submit rejected: ${outcome.error.code} ${outcome.error.message}`);
    model.submitted(value as string, this.kind, this.priority);
    real.tally.add(`submit ${this.kind}`);
    model.observed(snapshot);
  }
  toString = () => `submit(${this.kind}, ${this.priority})`;
}

class Control implements ModelCommand {
  constructor(
    readonly op: ControlOp,
    readonly index: number,
    readonly priority: Priority,
  ) {}
  check = (model: Readonly<Model>) => model.tasks.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    real.tally.commands++;
    const task = pick(model, this.index);
    const phase = task.phase;
    const request = this.op === 'setPriority' ? { op: this.op, id: task.id, priority: this.priority } : { op: this.op, id: task.id };
    const { outcome, snapshot } = await real.system.checked(request, ids(model));
    model.controlled(task, this.op, outcome, this.priority);
    real.tally.add(`${this.op} ${phase} ${outcome.ok ? 'resolved' : outcome.error.code}`);
    model.observed(snapshot);
  }
  toString = () => `${this.op}(#${this.index}${this.op === 'setPriority' ? `, ${this.priority}` : ''})`;
}

class ControlUnknown implements ModelCommand {
  constructor(readonly op: ControlOp) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    real.tally.commands++;
    const id = 'no-such-task';
    const request = this.op === 'setPriority' ? { op: this.op, id, priority: 'high' as const } : { op: this.op, id };
    const { outcome, snapshot } = await real.system.checked(request, ids(model));
    model.unknown(this.op, outcome);
    real.tally.add(`${this.op} unknown`);
    model.observed(snapshot);
  }
  toString = () => `${this.op}(unknown id)`;
}

/** Lets a blocker return at its next turn (the host's answer to its wait). */
class Release implements ModelCommand {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.tasks.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    real.tally.commands++;
    const task = pick(model, this.index);
    const { snapshot } = await real.system.checked({ op: 'release', id: task.id }, ids(model));
    model.released(task);
    real.tally.add('release');
    model.observed(snapshot);
  }
  toString = () => `release(#${this.index})`;
}

class Reopen implements ModelCommand {
  constructor(readonly graceful: boolean) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    real.tally.commands++;
    const { openedAt, snapshot } = await real.system.reopen(this.graceful, releasedIds(model), ids(model));
    model.reopened(openedAt);
    real.tally.add(`reopen ${this.graceful ? 'graceful' : 'interrupting'}`);
    model.observed(snapshot);
  }
  toString = () => `close(${this.graceful ? 'graceful' : 'not graceful'}) + open`;
}

class Kill implements ModelCommand {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    real.tally.commands++;
    const { openedAt, snapshot } = await real.system.kill(releasedIds(model), ids(model));
    model.reopened(openedAt);
    real.tally.add('kill');
    model.observed(snapshot);
  }
  toString = () => 'SIGKILL + open';
}

/**
 * How often each command comes, out of their sum. A command on tasks and the check after
 * it take about 2 ms; a kill (fork a process, open a runtime) or a reopen (close, open:
 * threads start and load the handlers) takes 0.5 to 1 s. At these weights 10,000 commands
 * hold about 6 of each, and take about half a minute on two idle cores.
 */
export interface CommandWeights {
  submit: number;
  control: number;
  unknown: number;
  release: number;
  reopen: number;
  kill: number;
}

export const DEFAULT_WEIGHTS: CommandWeights = { submit: 450, control: 225, unknown: 15, release: 150, reopen: 1, kill: 1 };

export function modelCommands(weights: CommandWeights = DEFAULT_WEIGHTS): fc.Arbitrary<ModelCommand> {
  const priority = fc.constantFrom(...PRIORITIES);
  const op = fc.constantFrom<ControlOp>('cancel', 'pause', 'resume', 'setPriority');
  const index = fc.nat({ max: 1000 });
  return fc.oneof(
    { weight: weights.submit, arbitrary: fc.tuple(fc.constantFrom<TaskKind>('blocker', 'quick'), priority).map(([k, p]) => new Submit(k, p)) },
    // One weight for each of the four controls.
    ...(['cancel', 'pause', 'resume', 'setPriority'] as const).map((name) => ({
      weight: weights.control,
      arbitrary: fc.tuple(index, priority).map(([i, p]) => new Control(name, i, p)),
    })),
    { weight: weights.unknown, arbitrary: op.map((o) => new ControlUnknown(o)) },
    { weight: weights.release, arbitrary: index.map((i) => new Release(i)) },
    { weight: weights.reopen, arbitrary: fc.boolean().map((g) => new Reopen(g)) },
    { weight: weights.kill, arbitrary: fc.constant(new Kill()) },
  );
}
