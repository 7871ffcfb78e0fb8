/**
 * A typed runtime runs as an untyped one does: the types of src/typed-tasks.ts change no
 * behaviour. Runs the README's example handlers (examples/readme, built to dist) through
 * `TaskRuntime.open<typeof tasks>`, with the typed calls the type tests check.
 */
import { readFileSync } from 'node:fs';
import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ofTaskType, ofType, TaskRuntime, type TaskHandle } from 'offthread';
import type * as readme from '../../examples/readme/handlers.js';
import type * as demo from '../../examples/demo-handlers.js';

const built = (name: string) => new URL(`../../dist/examples/${name}.js`, import.meta.url);

describe('a typed runtime', () => {
  it('submits, runs and reads back tasks typed from the handlers module', async () => {
    const rt = await TaskRuntime.open<typeof readme>({ handlers: built('readme/handlers'), concurrency: 1 });
    try {
      expect(rt.taskTypes).toEqual(['wordCount']);
      const completed = firstValueFrom(rt.events$.pipe(ofType('completed')));
      const handle = await rt.submit('wordCount', { texts: ['one two three', 'four five'] }, { name: 'count words' });
      expectTypeOf(handle).toEqualTypeOf<TaskHandle<{ words: number }>>();
      const { words } = await handle.result();
      expect(words).toBe(5);
      expect((await completed).result).toEqual({ words: 5 });

      const task = await rt.get(handle.id);
      expect(task?.type).toBe('wordCount');
      if (task?.type === 'wordCount') {
        expect(task.payload.texts).toHaveLength(2);
        expect(task.result?.words).toBe(5);
      }
    } finally {
      await rt.close();
    }
  });

  it('submits many items of several types, each handle typed by its item', async () => {
    const rt = await TaskRuntime.open<typeof demo>({ handlers: built('demo-handlers'), concurrency: 2 });
    try {
      // Subscribed now: events$ does not replay; toArray() gives them all at close.
      const created = firstValueFrom(rt.events$.pipe(ofType('created'), toArray()));
      const primesDone = firstValueFrom(rt.events$.pipe(ofTaskType('primes'), ofType('completed')));
      const [primes, chain] = await rt.submitMany([
        { type: 'primes', payload: { from: 0, to: 100 } },
        { type: 'hashChain', payload: { seed: 'x', rounds: 10 } },
      ]);
      expect(await primes.result()).toEqual({ from: 0, to: 100, count: 25 });
      const { rounds, digest } = await chain.result();
      expect(rounds).toBe(10);
      expect(digest).toHaveLength(16);
      const listed = await rt.list();
      expect(listed.map((task) => task.type).sort()).toEqual(['hashChain', 'primes']);
      await rt.close();
      expect((await created).map((event) => event.taskType)).toEqual(['primes', 'hashChain']);
      const { result } = await primesDone;
      expectTypeOf(result).toEqualTypeOf<{ from: number; to: number; count: number }>();
      expect(result.count).toBe(25);
    } finally {
      await rt.close();
    }
  });
});

describe("the README's first example", () => {
  it('is examples/readme, which the build compiles and the test above runs', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n(\/\/ (handlers|host)\.ts[^\n]*\n[\s\S]*?)```/g)];
    const code = (file: string) => {
      const text = readFileSync(new URL(`../../examples/readme/${file}.ts`, import.meta.url), 'utf8');
      return text.slice(text.indexOf('import '));
    };
    const inReadme = (file: string) => {
      const block = blocks.find((match) => match[2] === file)?.[1];
      return block?.slice(block.indexOf('import '));
    };
    expect(inReadme('handlers')).toBe(code('handlers'));
    expect(inReadme('host')).toBe(code('host'));
  });
});
