/**
 * The kill soak's evidence, read back at the end: the ids acknowledged to the submitting
 * hosts, and the handler's own log of every run's start and end (see handlers.ts `work`).
 */
import { readFileSync } from 'node:fs';

export interface HandlerRun {
  kind: 'start' | 'end';
  id: string;
  incarnation: number;
}

export function readAcks(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean);
}

export function readRuns(path: string): HandlerRun[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, id, incarnation] = line.split(' ');
      return { kind: kind as HandlerRun['kind'], id: id!, incarnation: Number(incarnation) };
    });
}
