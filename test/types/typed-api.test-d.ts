/**
 * Type tests of the typed API: compiled by `npm run typecheck` (tsconfig.test.json, run
 * before `npm test`), never executed. An `expectTypeOf` that no longer holds, or a
 * `@ts-expect-error` line that compiles again, fails the typecheck. The functions below
 * are never called: they only need to compile.
 */
import { expectTypeOf } from 'vitest';
import { map, type Observable } from 'rxjs';
import {
  ofTaskType,
  ofType,
  TaskRuntime,
  type AnyTask,
  type Task,
  type TaskEvent,
  type TaskHandle,
  type TaskMap,
  type TaskType,
  type SubmitItemOf,
} from 'offthread';
import { defineBatchTask, defineTask, type PayloadOf, type ResultOf, type TaskContext, type TaskDefinition } from 'offthread/worker';
import type * as tasks from './fixtures/tasks.js';
import { services } from './fixtures/services.js';

type Tasks = typeof tasks;
type ResizeResult = { width: number; format: 'png' };
type AnyResult = ResizeResult | 'pong' | number | string;

declare const rt: TaskRuntime<Tasks>;
declare const untyped: TaskRuntime;

export async function opening(): Promise<void> {
  const handlers = new URL('./fixtures/tasks.js', import.meta.url);
  expectTypeOf(await TaskRuntime.open<Tasks>({ handlers, services })).toEqualTypeOf<TaskRuntime<Tasks>>();
  expectTypeOf(await TaskRuntime.open({ handlers })).toEqualTypeOf<TaskRuntime>();
  // A typed runtime is given the services its handlers were told of (HostServices).
  // @ts-expect-error greet takes a name (a string)
  await TaskRuntime.open<Tasks>({ handlers, services: { greet: (n: number) => n, add: services.add } });
  // An untyped one takes any functions, as before.
  await TaskRuntime.open({ handlers, services: { anything: () => 1 } });
}

export function assignability(): void {
  // A typed runtime goes where the plain one is taken (helpers written for any runtime); the
  // plain one is not taken for a typed one, which would trust its submits unchecked.
  expectTypeOf(rt).toMatchTypeOf<TaskRuntime>();
  expectTypeOf(untyped).not.toMatchTypeOf<TaskRuntime<Tasks>>();
  const plain: TaskRuntime = rt;
  // @ts-expect-error an untyped runtime is no typed one
  const typed: TaskRuntime<Tasks> = untyped;
  void [plain, typed];
}

export function taskMap(): void {
  // Only defineTask exports are task types.
  expectTypeOf<TaskType<Tasks>>().toEqualTypeOf<'resize' | 'count' | 'ping' | 'maybe' | 'greet' | 'total'>();
  expectTypeOf<keyof TaskMap<Tasks>>().toEqualTypeOf<'resize' | 'count' | 'ping' | 'maybe' | 'greet' | 'total'>();
  expectTypeOf<TaskType<TaskRuntime extends TaskRuntime<infer T> ? T : never>>().toEqualTypeOf<string>();
  expectTypeOf(rt.taskTypes).toEqualTypeOf<TaskType<Tasks>[]>();
  expectTypeOf(untyped.taskTypes).toEqualTypeOf<string[]>();
}

export async function submit(): Promise<void> {
  const h = await rt.submit('resize', { width: 100 });
  expectTypeOf(h).toEqualTypeOf<TaskHandle<ResizeResult>>();
  expectTypeOf(await h.result()).toEqualTypeOf<ResizeResult>();
  expectTypeOf(await (await rt.submit('resize', { width: 1, height: 2 }, { priority: 'high' })).result()).toEqualTypeOf<ResizeResult>();

  // @ts-expect-error no such task type
  await rt.submit('resise', {});
  // @ts-expect-error wrong payload
  await rt.submit('resize', { width: '100' });
  // @ts-expect-error a payload property the handler does not take
  await rt.submit('resize', { width: 1, depth: 2 });
  // @ts-expect-error the payload is required
  await rt.submit('resize');
  // @ts-expect-error not a task type: a plain export
  await rt.submit('helper');
  // @ts-expect-error a typed runtime has no untyped submit<Result>
  await rt.submit<number>('resize', { width: 1 });
  // @ts-expect-error bad options are still options
  await rt.submit('resize', { width: 1 }, { priority: 'urgent' });

  // A handler that takes no payload, or an optional one: it may be left out.
  expectTypeOf(await (await rt.submit('ping')).result()).toEqualTypeOf<'pong'>();
  await rt.submit('ping', undefined, { name: 'ping' });
  // @ts-expect-error ping takes no payload
  await rt.submit('ping', { x: 1 });
  expectTypeOf(await (await rt.submit('maybe')).result()).toEqualTypeOf<number>();
  await rt.submit('maybe', { n: 2 });

  // The result of a handler that calls the host is what the host returns, awaited.
  expectTypeOf(await (await rt.submit('greet', { name: 'a' })).result()).toEqualTypeOf<string>();
}

export async function submitMany(): Promise<void> {
  const [a, b, c] = await rt.submitMany([
    { type: 'resize', payload: { width: 1 } },
    { type: 'ping' },
    { type: 'greet', payload: { name: 'x' }, options: { priority: 'low' } },
  ]);
  expectTypeOf(a).toEqualTypeOf<TaskHandle<ResizeResult>>();
  expectTypeOf(b).toEqualTypeOf<TaskHandle<'pong'>>();
  expectTypeOf(c).toEqualTypeOf<TaskHandle<string>>();
  // Arrays in a literal item's payload stay what the handler takes (not readonly tuples).
  const [counted] = await rt.submitMany([{ type: 'count', payload: { texts: ['a', 'b'] } }]);
  expectTypeOf(counted).toEqualTypeOf<TaskHandle<number>>();

  // Items built elsewhere: an array of the union, handles of the union of results.
  const items: SubmitItemOf<Tasks>[] = [1, 2, 3].map((width) => ({ type: 'resize', payload: { width } }));
  const handles = await rt.submitMany(items);
  expectTypeOf(handles).toEqualTypeOf<TaskHandle<AnyResult>[]>();

  // @ts-expect-error wrong payload for its type
  await rt.submitMany([{ type: 'resize', payload: { width: '1' } }]);
  // @ts-expect-error no such task type
  await rt.submitMany([{ type: 'resise', payload: { width: 1 } }]);
  // @ts-expect-error resize's payload is required
  await rt.submitMany([{ type: 'resize' }]);
  // @ts-expect-error the payload of another type
  const wrong: SubmitItemOf<Tasks> = { type: 'greet', payload: { width: 1 } };
  void wrong;
}

export async function schedule(): Promise<void> {
  await rt.schedule('nightly', '0 2 * * *', 'resize', { width: 10 }, { overlap: true, timezone: 'UTC' });
  await rt.schedule('beat', '*/5 * * * * *', 'ping');
  // @ts-expect-error no such task type
  await rt.schedule('nightly', '0 2 * * *', 'resise', { width: 10 });
  // @ts-expect-error wrong payload
  await rt.schedule('nightly', '0 2 * * *', 'resize', { width: '10' });
  // @ts-expect-error the payload is required
  await rt.schedule('nightly', '0 2 * * *', 'resize');
  // @ts-expect-error schedule options have no runAt
  await rt.schedule('nightly', '0 2 * * *', 'resize', { width: 10 }, { runAt: 1 });
  // The type of a named schedule's task is not known: a union, or what the caller says.
  expectTypeOf(await rt.runSchedule('nightly')).toEqualTypeOf<TaskHandle<AnyResult>>();
  expectTypeOf(await rt.runSchedule<ResizeResult>('nightly')).toEqualTypeOf<TaskHandle<ResizeResult>>();
}

export async function reads(): Promise<void> {
  const task = await rt.get('id');
  expectTypeOf(task).toEqualTypeOf<AnyTask<Tasks> | undefined>();
  if (task?.type === 'resize') {
    expectTypeOf(task.payload).toEqualTypeOf<{ width: number; height?: number }>();
    expectTypeOf(task.result).toEqualTypeOf<ResizeResult | null>();
  }
  if (task?.type === 'greet') {
    expectTypeOf(task.payload).toEqualTypeOf<{ name: string }>();
    expectTypeOf(task.result).toEqualTypeOf<string | null>();
  }
  // @ts-expect-error no task has that type
  if (task?.type === 'resise') return;

  for (const listed of await rt.list({ type: 'ping' })) {
    expectTypeOf(listed.type).toEqualTypeOf<TaskType<Tasks>>();
    if (listed.type === 'ping') expectTypeOf(listed.result).toEqualTypeOf<'pong' | null>();
  }
  expectTypeOf(rt.observe('id')).toEqualTypeOf<Observable<AnyTask<Tasks>>>();
  rt.observe('id').subscribe((seen) => {
    if (seen.type === 'total') expectTypeOf(seen.payload).toEqualTypeOf<null>();
  });
  expectTypeOf(rt.watch()).toEqualTypeOf<Observable<AnyTask<Tasks>[]>>();
  // Filters name the module's task types.
  await rt.list({ type: ['resize', 'ping'], status: 'queued' });
  // @ts-expect-error no such task type
  await rt.list({ type: 'resise' });
  // @ts-expect-error no such task type
  await rt.cancelMany({ type: ['resize', 'resise'] });
  await untyped.list({ type: 'anything' });
  // A typed task is still a Task, for code that takes any.
  expectTypeOf<AnyTask<Tasks>>().toMatchTypeOf<Task>();
}

export function events(): void {
  rt.events$.subscribe((event) => {
    if (event.type === 'created') expectTypeOf(event.taskType).toEqualTypeOf<TaskType<Tasks>>();
    if (event.type === 'completed') expectTypeOf(event.result).toEqualTypeOf<AnyResult>();
  });
  const completed = rt.events$.pipe(ofType('completed'));
  completed.subscribe((event) => expectTypeOf(event.result).toEqualTypeOf<AnyResult>());
  // One task type's events carry its own result.
  const resized = rt.events$.pipe(ofTaskType('resize'), ofType('completed'));
  expectTypeOf(resized).toEqualTypeOf<Observable<Extract<TaskEvent<'resize', ResizeResult>, { type: 'completed' }>>>();
  rt.events$.subscribe((event) => {
    if (event.taskType === 'resize' && event.type === 'completed') expectTypeOf(event.result).toEqualTypeOf<ResizeResult>();
  });
  // @ts-expect-error no such task type
  rt.events$.pipe(ofTaskType('resise'));
  // Untyped: any name, the events as they are.
  expectTypeOf(untyped.events$.pipe(ofTaskType('anything'))).toEqualTypeOf<Observable<TaskEvent>>();
  rt.events$.pipe(
    ofType('created', 'failed'),
    map((event) => (event.type === 'created' ? event.taskType : event.error.code)),
  );
  // @ts-expect-error not an event type
  rt.events$.pipe(ofType('resize'));
  // Untyped: as before.
  expectTypeOf(untyped.events$.pipe(ofType('completed'))).toEqualTypeOf<Observable<Extract<TaskEvent, { type: 'completed' }>>>();
}

export function handlerSide(): void {
  // defineTask infers Payload and Result from the function.
  expectTypeOf<PayloadOf<Tasks['resize']>>().toEqualTypeOf<{ width: number; height?: number }>();
  expectTypeOf<ResultOf<Tasks['resize']>>().toEqualTypeOf<ResizeResult>();
  expectTypeOf(defineTask((n: number) => String(n))).toEqualTypeOf<TaskDefinition<number, string>>();
  // A batch handler: the payload and result of one task, an Error at a place aside.
  expectTypeOf(defineBatchTask((ns: number[]) => ns.map((n) => (n < 0 ? new Error('negative') : String(n))))).toEqualTypeOf<TaskDefinition<number, string>>();
  // @ts-expect-error a batch handler returns an array, one result per payload
  defineBatchTask((ns: number[]) => ns.length);
  // An async handler's Result is what its promise resolves to.
  expectTypeOf(defineTask(async (n: number) => [n])).toEqualTypeOf<TaskDefinition<number, number[]>>();
  // An unannotated payload is `any`, as before.
  expectTypeOf(defineTask((payload) => payload)).toEqualTypeOf<TaskDefinition<any, any>>();

  // ctx.host: comlink's Remote of HostServices, every call async.
  defineTask(async (payload: { name: string }, ctx) => {
    expectTypeOf(ctx.host.greet).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(await ctx.host.add(1, 2)).toEqualTypeOf<number>();
    // @ts-expect-error greet takes a string
    await ctx.host.greet(1);
    // @ts-expect-error the host has no such service
    await ctx.host.missing();
    return payload.name;
  });
  // A handler may declare its own services and its parents' results.
  defineTask(async (_payload: null, ctx: TaskContext<{ lookup(key: string): number }, ResizeResult>) => {
    expectTypeOf(await ctx.host.lookup('k')).toEqualTypeOf<number>();
    expectTypeOf(ctx.dependencies).toEqualTypeOf<Readonly<Record<string, ResizeResult>>>();
    expectTypeOf(ctx.failedDependencies).toEqualTypeOf<Readonly<Record<string, { code: string; message: string }>>>();
    return null;
  });
  // Undeclared, the dependencies are unknown.
  defineTask((_payload: null, ctx) => {
    expectTypeOf(ctx.dependencies).toEqualTypeOf<Readonly<Record<string, unknown>>>();
  });
}

export async function untypedRuntime(): Promise<void> {
  // Without the type argument, everything works as before, typed unknown.
  const h = await untyped.submit('anything', { any: 'payload' });
  expectTypeOf(h).toEqualTypeOf<TaskHandle<unknown>>();
  await untyped.submit('anything');
  expectTypeOf(await untyped.submit<{ words: number }>('wordCount', {})).toEqualTypeOf<TaskHandle<{ words: number }>>();
  expectTypeOf(await untyped.submitMany([{ type: 'a', payload: 1 }, { type: 'b' }])).toEqualTypeOf<TaskHandle<unknown>[]>();
  expectTypeOf(await untyped.submitMany<number>([{ type: 'a' }])).toEqualTypeOf<TaskHandle<number>[]>();
  await untyped.schedule('n', '* * * * *', 'anything', { x: 1 }, { overlap: true });
  await untyped.schedule('n', '* * * * *', 'anything');
  expectTypeOf(await untyped.get('id')).toEqualTypeOf<Task | undefined>();
  expectTypeOf(await untyped.list()).toEqualTypeOf<Task[]>();
  expectTypeOf(untyped.observe('id')).toEqualTypeOf<Observable<Task>>();
  expectTypeOf(untyped.events$).toEqualTypeOf<Observable<TaskEvent>>();
  expectTypeOf(await untyped.runSchedule('n')).toEqualTypeOf<TaskHandle<unknown>>();
}
