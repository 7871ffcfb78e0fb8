import { openRuntime } from '../helpers.js';
import type { RuntimeOptions } from 'offthread';

export const FAULTY = new URL('../fixtures/faulty.js', import.meta.url);

/** A runtime on the misbehaving handlers. */
export function openFaulty(options: Partial<RuntimeOptions> = {}) {
  return openRuntime({ handlers: FAULTY, ...options });
}
