/**
 * The model-based property run (soak/model.ts, soak/commands.ts): random sequences of
 * submit, cancel, pause, resume, setPriority, release of a blocking handler, close + open,
 * and SIGKILL of the process holding the runtime + open, each followed by get(), list()
 * and stats() of every task checked against a reference model of the lifecycle.
 * `npm run soak -- --commands N` runs the same for longer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killLeftoverModelHosts } from '../../soak/host-client.js';
import { runModel } from '../../soak/model-run.js';

afterEach(() => killLeftoverModelHosts());

describe('statuses against a reference model, over random command sequences', () => {
  it('10,000 commands: every answer, error code and status is one the model allows', { timeout: 90_000 }, async () => {
    const report = await runModel({ commands: 10_000, shrink: false });
    const failure = report.failure;
    expect(
      failure,
      failure && `${failure.message}\nreplay: npm run soak -- --commands 1 --seed ${failure.seed} --path '${failure.path}' --replay-path '${failure.replayPath}'`,
    ).toBeUndefined();
    expect(report.commands).toBeGreaterThanOrEqual(10_000);
    expect(report.runs).toBeGreaterThan(1);

    // The runs went through the moves that matter, not only the easy ones.
    const seen = (prefix: string) => [...report.outcomes].filter(([what]) => what.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0);
    expect(seen('kill')).toBeGreaterThan(0);
    expect(seen('reopen')).toBeGreaterThan(0);
    expect(seen('pause live resolved')).toBeGreaterThan(0);
    expect(seen('resume paused resolved')).toBeGreaterThan(0);
    expect(seen('cancel live resolved')).toBeGreaterThan(0);
    expect(seen('cancel paused resolved')).toBeGreaterThan(0);
    expect(seen('setPriority live resolved')).toBeGreaterThan(0);
    expect(seen('setPriority paused resolved')).toBeGreaterThan(0);
    expect(seen('setPriority live ERR_INVALID_TRANSITION')).toBeGreaterThan(0);
    expect(seen('cancel completed ERR_INVALID_TRANSITION')).toBeGreaterThan(0);
    expect(seen('resume live ERR_INVALID_TRANSITION')).toBeGreaterThan(0);
    expect(seen('pause unknown') + seen('cancel unknown') + seen('resume unknown') + seen('setPriority unknown')).toBeGreaterThan(0);
  });
});
