import { describe, expect, it } from 'vitest';
import { DispatchTurn } from '../../src/scheduler/dispatch-turn.js';
import { nextTurn } from '../../src/turns.js';

describe('DispatchTurn', () => {
  it('lets dispatch run for 1 ms of a turn, then resumes it once on the next turn', async () => {
    let clock = 0;
    let resumed = 0;
    const turn = new DispatchTurn(() => resumed++, () => clock);
    expect(turn.spent()).toBe(false); // opens the turn at 0
    clock = 0.9;
    expect(turn.spent()).toBe(false);
    clock = 1.2;
    expect(turn.spent()).toBe(true);
    expect(turn.spent()).toBe(true); // asked again: still one resume owed
    expect(resumed).toBe(0);
    await nextTurn();
    expect(resumed).toBe(1);
    expect(turn.spent()).toBe(false); // a new turn, a new budget
  });

  it('does not resume a dispatch that was never held back', async () => {
    let resumed = 0;
    const turn = new DispatchTurn(() => resumed++, () => 0);
    expect(turn.spent()).toBe(false);
    await nextTurn();
    expect(resumed).toBe(0);
  });

  it('counts from begin(): finishing what came back is part of the turn too', async () => {
    let clock = 0;
    const turn = new DispatchTurn(() => undefined, () => clock);
    turn.begin(); // outcomes arrive at 0
    clock = 1.5;
    expect(turn.spent()).toBe(true); // the first dispatch of the turn, already over budget
    await nextTurn();
  });
});
