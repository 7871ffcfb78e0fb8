/**
 * Takes the screenshots of the dashboard in docs/images: the overview while demo tasks run,
 * and the page of one finished task. Needs Chromium (Debian's `chromium`, or CHROMIUM_PATH)
 * and the dev dependencies; run after a build:
 *
 *   node dist/examples/dashboard-screenshots.js [output folder, default docs/images]
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { chromium } from 'playwright-core';
import { TaskRuntime } from 'offthread';
import type * as tasks from './demo-handlers.js';

const out = resolve(process.argv[2] ?? 'docs/images');
mkdirSync(out, { recursive: true });

const rt = await TaskRuntime.open<typeof tasks>({ handlers: new URL('./demo-handlers.js', import.meta.url), concurrency: 2, progressIntervalMs: 100 });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const dashboard = await rt.dashboard();
  // A page listens from the start: the task's timeline holds the events seen while one does.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(dashboard.url);
  await page.waitForFunction("document.getElementById('live').classList.contains('on')");
  const M = 1_000_000;
  const quick = [];
  for (let i = 0; i < 12; i++) {
    quick.push(await rt.submit('primes', { from: i * 200_000, to: (i + 1) * 200_000 }, { name: `primes ${i * 200}k-${(i + 1) * 200}k`, priority: (['low', 'normal', 'high'] as const)[i % 3] }));
  }
  const seed = await rt.submit('hashChain', { seed: 'offthread', rounds: 20_000 }, { name: 'sha256 x 20k' });
  await Promise.all([...quick, seed].map((handle) => handle.result()));
  // Two long tasks, running when the overview is taken; a third waits its turn.
  const long = [
    await rt.submit('primes', { from: 0, to: 60 * M }, { name: 'primes 0-60M', priority: 'high' }),
    await rt.submit('hashChain', { seed: 'durable', rounds: 40_000_000 }, { name: 'sha256 x 40M' }),
    await rt.submit('mandelbrot', { x: -1.5, y: -0.5, span: 0.5, size: 800, maxIterations: 4000 }, { name: 'mandelbrot (-1.5,-0.5)', priority: 'low' }),
  ];
  for (const handle of long.slice(0, 2)) {
    await firstValueFrom(rt.events$.pipe(filter((e) => e.type === 'progress' && e.taskId === handle.id && e.progress >= 5)));
  }

  // Page conditions are strings: this file is built without the DOM's types.
  await page.goto(dashboard.url);
  await page.waitForFunction("document.querySelectorAll('#running tr[data-id]').length === 2");
  await page.screenshot({ path: `${out}/dashboard-overview.png`, fullPage: true });
  await page.goto(`${dashboard.url}tasks/${seed.id}`);
  await page.waitForFunction("document.querySelector('#result') !== null");
  await page.screenshot({ path: `${out}/dashboard-task.png`, fullPage: true });
  console.log(`wrote ${out}/dashboard-overview.png and ${out}/dashboard-task.png`);
} finally {
  await browser.close();
  await rt.close({ graceful: false });
}
