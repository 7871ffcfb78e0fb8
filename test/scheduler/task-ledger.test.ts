import { describe, expect, it } from 'vitest';
import { TaskLedger } from '../../src/scheduler/task-ledger.js';

describe('TaskLedger (live tasks by id, in Maps of a capped size)', () => {
  it('finds, counts and forgets tasks across its Maps, and lists them in the order they came', () => {
    const ledger = new TaskLedger<number>(3); // a new Map every 3 entries
    for (let i = 0; i < 10; i++) ledger.add(`t${i}`, i);
    expect(ledger.size).toBe(10);
    for (let i = 0; i < 10; i++) expect(ledger.get(`t${i}`)).toBe(i);
    expect(ledger.has('t10')).toBe(false);
    // Emptying the first Map (t0-t2) drops it; the others are still found.
    for (const id of ['t0', 't1', 't2', 't4']) expect(ledger.delete(id)).toBe(true);
    expect(ledger.delete('t4')).toBe(false);
    expect(ledger.size).toBe(6);
    ledger.add('t10', 10);
    expect([...ledger.values()]).toEqual([3, 5, 6, 7, 8, 9, 10]);
  });

  it('can be deleted from while it is being iterated, as a Map can', () => {
    const ledger = new TaskLedger<number>(2);
    for (let i = 0; i < 6; i++) ledger.add(`t${i}`, i);
    const seen: number[] = [];
    for (const value of ledger.values()) {
      seen.push(value);
      ledger.delete(`t${value}`);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ledger.size).toBe(0);
  });
});
