import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Handlers run in real worker threads, which load built JavaScript. So the tests use the
// built package too (npm test builds first): `offthread` and `offthread/worker` resolve to
// dist, the same modules the worker threads import, so instanceof checks agree.
const dist = (p: string) => fileURLToPath(new URL(`./dist/src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^offthread$/, replacement: dist('index.js') },
      { find: /^offthread\/worker$/, replacement: dist('worker.js') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL server for the whole run; tests get a database each (test/pg/server.ts).
    globalSetup: ['./test/pg/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file opens real worker threads; two cores, so keep files from piling up.
    maxWorkers: 2,
  },
});
