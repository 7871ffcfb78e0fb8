/**
 * PostgreSQL stores a test opens on its own databases: call in a describe block; each store
 * opened through the returned function is closed after its test.
 */
import { afterEach } from 'vitest';
import { PgTaskStore } from '../../src/store/postgres/pg-task-store.js';

export function pgStores(): (url: string) => Promise<PgTaskStore> {
  const opened: PgTaskStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  return async (url) => {
    const store = await PgTaskStore.open({ connectionString: url });
    opened.push(store);
    return store;
  };
}
