/// <reference lib="dom" />
/**
 * One headless Chromium per test file (Debian's, driven by playwright-core), pages that
 * record every dialog (an XSS payload that ran would open one), and screenshots kept as
 * test artifacts under test-results/dashboard (gitignored).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-results/dashboard/', import.meta.url));

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface WatchedPage {
  page: Page;
  /** Messages of every dialog (alert, confirm...) the page opened; each is dismissed. */
  dialogs: string[];
  /** Errors the page's scripts threw, and CSP violations reported to the console. */
  errors: string[];
}

export async function openPage(browser: Browser, url: string): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Fails a wait with its reason well before the test's own timeout.
  page.setDefaultTimeout(8000);
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  // The script has drawn its view once it has data.
  await page.waitForFunction(() => document.body.dataset.updated !== undefined);
  return { page, dialogs, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
