import { describe, expect, it } from 'vitest';
import { TaskRuntime } from 'offthread';
import '../helpers.js'; // its afterEach fails a test that leaves threads behind

describe('a handlers module that cannot be used', () => {
  it('rejects a module that throws while loading with ERR_HANDLERS_LOAD, naming it and the cause', async () => {
    const handlers = new URL('../fixtures/broken-handlers.js', import.meta.url);
    const error = await TaskRuntime.open({ handlers }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_HANDLERS_LOAD' });
    expect((error as Error).message).toContain('broken-handlers.js');
    expect((error as Error).message).toContain('missing configuration');
  });

  it('rejects a missing module with ERR_HANDLERS_LOAD naming the path', async () => {
    const error = await TaskRuntime.open({ handlers: '/nonexistent/handlers.js' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_HANDLERS_LOAD' });
    expect((error as Error).message).toContain('/nonexistent/handlers.js');
  });
});
