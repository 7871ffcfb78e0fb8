/**
 * A short kill soak (soak/kill-soak.ts): a host process taking and running tasks is
 * SIGKILLed at a random report line 20 times, and restarted each time; then one runs to
 * the end. `npm run soak -- --kills N` runs the same for longer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killLeftoverHosts, runKillSoak } from '../../soak/kill-soak.js';

afterEach(() => killLeftoverHosts());

describe('kill soak', () => {
  it('20 SIGKILLs of a working host: every acknowledged task completed, none lost, none run after its commit', { timeout: 60_000 }, async () => {
    const report = await runKillSoak({ kills: 20 });
    const replay = `replay: npm run soak -- --kills 20 --seed ${report.seed}`;
    expect(report.kills).toBe(20);
    expect(report.lost, replay).toEqual([]);
    expect(report.problems, replay).toEqual([]);
    expect(report.acknowledged).toBeGreaterThan(0);
    expect(report.stored).toBeGreaterThanOrEqual(report.acknowledged);
    expect(report.reexecutionsPerKill).toHaveLength(20);
    // The kills did fall on work under way: some tasks ran again.
    expect(report.reexecutionsMax, replay).toBeGreaterThan(0);
  });
});
