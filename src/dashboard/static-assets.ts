/**
 * The files a page loads: the page, its script and style (string modules, so `tsc` puts
 * them in dist/src with the rest), and uPlot from the installed package (no CDN: works
 * offline). uPlot's files are read once, on first request.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { APP_JS } from './assets/app-js.js';
import { INDEX_HTML } from './assets/index-html.js';
import { STYLE_CSS } from './assets/style-css.js';

export interface Asset {
  type: string;
  body: string | Buffer;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

export const PAGE: Asset = { type: 'text/html; charset=utf-8', body: INDEX_HTML };

const inline: Record<string, Asset> = {
  'app.js': { type: JS, body: APP_JS },
  'style.css': { type: CSS, body: STYLE_CSS },
};

const fromPackage: Record<string, { file: string; type: string }> = {
  'uplot.esm.js': { file: 'uplot/dist/uPlot.esm.js', type: JS },
  'uplot.css': { file: 'uplot/dist/uPlot.min.css', type: CSS },
};

const loaded = new Map<string, Promise<Asset>>();

export function asset(name: string): Promise<Asset> | undefined {
  const own = inline[name];
  if (own !== undefined) return Promise.resolve(own);
  const packaged = fromPackage[name];
  if (packaged === undefined) return undefined;
  let promise = loaded.get(name);
  if (promise === undefined) {
    const path = createRequire(import.meta.url).resolve(packaged.file);
    promise = readFile(path).then((body) => ({ type: packaged.type, body }));
    promise.catch(() => loaded.delete(name));
    loaded.set(name, promise);
  }
  return promise;
}
