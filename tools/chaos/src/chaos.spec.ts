import { runChaos } from './chaos';

/**
 * The short chaos run (`npm run chaos -- --short`): two of every app, a mixed load through both
 * gateways, and each kind of fault once (SIGKILL of one instance of every app, a NATS restart, a
 * Postgres restart, one gateway cut off NATS for 10 s); then every check must pass.
 */
describe('chaos (short run)', () => {
  it('loses nothing, duplicates nothing, overspends nothing and never hangs under faults', async () => {
    const report = await runChaos({ mode: 'short', log: (m) => process.stderr.write(`[chaos] ${m}\n`) });
    const failed = report.checks.filter((c) => !c.pass);
    if (failed.length > 0) process.stderr.write(`${JSON.stringify(report, null, 1)}\n`);
    expect(failed.map((c) => c.name)).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual([
      'every_2xx_in_log_exactly_once',
      'no_overspend_no_negative_wallet_holds_resolved_once',
      'read_models_equal_replay',
      'audit_chain_verifies',
      'no_revoked_key_accepted',
      'rate_limits_never_exceeded',
      'errors_and_waits',
    ]);
  });
});
