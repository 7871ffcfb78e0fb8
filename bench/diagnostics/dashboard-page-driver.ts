/// <reference lib="dom" />
/**
 * The browser of dashboard-page.ts, in a process of its own: the runtime's process does
 * none of the driving (Playwright's client parses every message of the browser's protocol,
 * a cost of the measurement, not of the dashboard). Commands on stdin, one a line: `open
 * URL`, `hide` (the page as a background tab would be), `wait TOTAL` (until the overview
 * counts TOTAL tasks), `close`; each answered `ok` or `error ...` on stdout.
 */
import { createInterface } from 'node:readline';
import { chromium, type Page } from 'playwright-core';

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
let page: Page | undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);
say('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, argument = ''] = line.split(' ');
  try {
    if (command === 'open') {
      page = await browser.newPage();
      await page.goto(argument);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
    } else if (command === 'hide') {
      await page!.evaluate(() => {
        Object.defineProperty(document, 'hidden', { value: true, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
    } else if (command === 'wait') {
      await page!.waitForFunction((total) => document.querySelector('[data-count="total"]')?.textContent === total, argument, { timeout: 30_000 });
    } else if (command === 'close') {
      await page?.close();
      page = undefined;
    } else break;
    say('ok');
  } catch (error) {
    say(`error ${(error as Error).message.split('\n')[0]}`);
  }
}
await browser.close();
