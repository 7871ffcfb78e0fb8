/**
 * Where a soak script that runs as its own process (a host) is. Processes and worker
 * threads run built JavaScript, so from the TypeScript sources (vitest) this points into
 * dist/soak; from dist/soak (npm run soak) it points next door.
 */
import { fileURLToPath } from 'node:url';

export function builtScript(name: string): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(fromSource ? `../dist/soak/${name}.js` : `./${name}.js`, import.meta.url));
}

export function builtHandlers(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? '../dist/soak/handlers.js' : './handlers.js', import.meta.url);
}
