import { Stack, waitFor } from '@keyledger/testing';
import { createOrg, expectError, operatorClient, TestOrg } from './client';

/** One sample of a Prometheus text page (undefined: not exposed). */
function sample(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of page.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/**
 * The metrics operators watch, moving when the thing they count happens: spend decisions on the
 * ledger's own /metrics port, rate-limit decisions on the gateway's /metrics, event-store append
 * latency and processor lag on every service that appends or follows the log.
 */
describe('service metrics (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;

  beforeAll(async () => {
    stack = await Stack.start({ label: 'metrics' });
    acme = await createOrg(stack, 'Metrics Co');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const scrape = async (url: string) => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('counts spend decisions by outcome and decline reason, a replayed spend not again', async () => {
    const agent = (await acme.api.post('/v1/agents', { name: 'metered' })).body.data;
    await acme.api.post('/v1/wallet/deposits', { amount: 1_000, currency: 'usd' });
    await acme.api.put(`/v1/agents/${agent.id}/budget`, { currency: 'usd', fixed_limit: 500 });
    const ledger = stack.metricsUrl('budget-ledger');
    const count = (page: string, labels: Record<string, string>) => sample(page, 'keyledger_spend_decisions_total', labels) ?? 0;
    const before = await scrape(ledger);

    const spend = { agent_id: agent.id, amount: 300, currency: 'usd' };
    expect((await acme.api.post('/v1/spends', spend, { 'idempotency-key': 'metered-1' })).status).toBe(201);
    // The same request again is a replay: no new decision.
    expect((await acme.api.post('/v1/spends', spend, { 'idempotency-key': 'metered-1' })).headers.get('idempotent-replayed')).toBe('true');
    expect((await acme.api.post('/v1/spends', { ...spend, amount: 100, capture: false })).status).toBe(201);
    expectError(await acme.api.post('/v1/spends', spend), 402, 'BUDGET_EXCEEDED');
    expectError(await acme.api.post('/v1/spends', { ...spend, amount: 150 }), 402, 'BUDGET_EXCEEDED');

    const after = await scrape(ledger);
    const delta = (labels: Record<string, string>) => count(after, labels) - count(before, labels);
    expect(delta({ outcome: 'captured', reason: '' })).toBe(1);
    expect(delta({ outcome: 'authorized', reason: '' })).toBe(1);
    expect(delta({ outcome: 'declined', reason: 'BUDGET_EXCEEDED', limiting_factor: 'fixed_limit' })).toBe(2);
  });

  it('counts rate-limit decisions by class and outcome on the gateway', async () => {
    const org = await createOrg(stack, 'Throttled', { rateLimits: 'plan' });
    await operatorClient(stack).put(`/v1/orgs/${org.id}/plan`, { plan: null, overrides: { write: { per_minute: 1, burst: 1 } } });
    const gateway = stack.metricsUrl('gateway');
    const count = (page: string, labels: Record<string, string>) => sample(page, 'keyledger_rate_limit_decisions_total', labels) ?? 0;
    const before = await scrape(gateway);

    expect((await org.api.post('/v1/agents', { name: 'first' })).status).toBe(201);
    expectError(await org.api.post('/v1/agents', { name: 'second' }), 429, 'RATE_LIMITED');
    expect((await org.api.get('/v1/agents')).status).toBe(200);

    const after = await scrape(gateway);
    const delta = (labels: Record<string, string>) => count(after, labels) - count(before, labels);
    expect(delta({ class: 'write', outcome: 'limited' })).toBe(1);
    expect(delta({ class: 'write', outcome: 'allowed' })).toBeGreaterThanOrEqual(1);
    expect(delta({ class: 'read', outcome: 'allowed' })).toBeGreaterThanOrEqual(1);
  });

  it('shows event-store append latency and processor lag on the services that append and follow the log', async () => {
    const registry = stack.metricsUrl('key-registry');
    const appends = (page: string) => sample(page, 'keyledger_event_store_append_duration_seconds_count', { category: 'agent' }) ?? 0;
    const before = appends(await scrape(registry));
    await acme.api.post('/v1/agents', { name: 'appended' });
    const page = await scrape(registry);
    expect(appends(page)).toBe(before + 1);
    expect(sample(page, 'keyledger_event_store_append_duration_seconds_bucket', { category: 'agent', le: '+Inf' })).toBe(before + 1);
    // Default process metrics carry the service's name.
    expect(page).toMatch(/^keyledger_key_registry_process_cpu_seconds_total /m);

    // The ledger's revocation follower and the audit chainer report how far behind the log they are,
    // and catch up: lag 0 once the log is quiet.
    for (const [app, processor] of [
      ['budget-ledger', 'budget-ledger:agent-revocations'],
      ['audit-attestation', 'audit-chain'],
    ] as const) {
      await waitFor(`${processor} to report no lag`, async () => {
        const text = await scrape(stack.metricsUrl(app));
        return sample(text, 'keyledger_processor_lag_events', { processor }) === 0 && sample(text, 'keyledger_processor_lag_seconds', { processor }) === 0;
      });
    }
    // The outbox relay runs in exactly one service at a time (a lease): exactly one reports it.
    const relays = await Promise.all((['key-registry', 'budget-ledger', 'audit-attestation'] as const).map(async (app) => sample(await scrape(stack.metricsUrl(app)), 'keyledger_processor_lag_events', { processor: 'outbox-relay' })));
    expect(relays.filter((r) => r !== undefined)).toHaveLength(1);
  });
});
