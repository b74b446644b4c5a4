import { Client } from 'pg';
import { Stack } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, TestOrg } from './client';
import { http } from './http';

/**
 * Wallets, budgets and spends through the public API on two gateways and two budget-ledger
 * instances: the no-overspend guarantee under 500 concurrent spends, holds and their one
 * resolution, refunds, paused and revoked agents, idempotent retries, tenant isolation.
 */
describe('budget ledger (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;
  let db: Client;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'ledger',
      instances: { gateway: 2, 'budget-ledger': 2 },
      // 500 requests at once queue behind one wallet lock; a reply may take longer than the default.
      env: { KEYLEDGER_RPC_TIMEOUT_MS: '20000' },
    });
    acme = await createOrg(stack, 'Acme');
    db = new Client({ connectionString: stack.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  const put = (api: ApiClient, path: string, json: unknown) => http(api.baseUrl, 'PUT', path, { headers: api.headers, json });

  async function freshOrg(name: string): Promise<TestOrg> {
    return createOrg(stack, name);
  }

  async function agentWithBudget(org: TestOrg, budget: Record<string, unknown>) {
    const agent = (await org.api.post('/v1/agents', { name: `agent ${Math.random()}` })).body.data;
    const res = await put(org.api, `/v1/agents/${agent.id}/budget`, { currency: 'usd', ...budget });
    expect(res.status).toBe(200);
    return agent.id as string;
  }

  async function deposit(org: TestOrg, amount: number) {
    const res = await org.api.post('/v1/wallet/deposits', { amount, currency: 'usd' });
    expect(res.status).toBe(201);
    return res.body.data.balance;
  }

  /** 500 spends of 1 at once, alternating gateways; returns the statuses and error codes seen. */
  async function storm(org: TestOrg, agentIds: string[], n = 500) {
    const apis = [org.api, org.api.at(stack.gatewayUrl(1))];
    // Each gateway looks the key up once first: the storm measures the ledger, not 250 cold key lookups.
    for (const api of apis) expect((await api.get('/v1/wallet')).status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        apis[i % 2].post('/v1/spends', { agent_id: agentIds[i % agentIds.length], amount: 1, currency: 'usd' }),
      ),
    );
    const tally: Record<string, number> = {};
    for (const r of results) {
      const key = r.status === 201 ? '201' : `${r.status} ${r.body?.error?.code}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    return tally;
  }

  /** The numbers straight from the log: what a replay of the org's events gives. */
  async function fromLog(orgId: string) {
    const { rows } = await db.query(`select type, data from events where org_id = $1 order by position`, [orgId]);
    const sum = { deposited: 0, captured: 0, refunded: 0, held: 0, authorized: 0, declined: {} as Record<string, number> };
    const open = new Map<string, number>();
    for (const { type, data } of rows) {
      if (type === 'FundsDeposited') sum.deposited += Number(data.amount);
      if (type === 'SpendAuthorized') {
        sum.authorized++;
        open.set(data.spend_id, Number(data.amount));
      }
      if (type === 'SpendCaptured') {
        sum.captured += Number(data.amount);
        open.delete(data.spend_id);
      }
      if (type === 'HoldReleased' || type === 'HoldExpired') open.delete(data.spend_id);
      if (type === 'SpendRefunded') sum.refunded += Number(data.amount);
      if (type === 'SpendDeclined') sum.declined[data.code] = (sum.declined[data.code] ?? 0) + 1;
    }
    sum.held = [...open.values()].reduce((a, b) => a + b, 0);
    return sum;
  }

  it('agent budget 137, wallet 1000, 500 concurrent spends of 1: exactly 137 succeed, the rest are BUDGET_EXCEEDED', async () => {
    const org = await freshOrg('Storm budget');
    await deposit(org, 1000);
    const agentId = await agentWithBudget(org, { fixed_limit: 137 });
    expect(await storm(org, [agentId])).toEqual({ '201': 137, '402 BUDGET_EXCEEDED': 363 });

    const wallet = (await org.api.get('/v1/wallet')).body.data;
    expect(wallet.balances).toEqual([{ currency: 'usd', available: 863, held: 0 }]);
    const budget = (await org.api.get(`/v1/agents/${agentId}/budget`)).body.data;
    expect(budget).toMatchObject({ remaining: 0, limiting_factor: 'fixed_limit', spent: 137, held: 0, wallet_available: 863 });
    const log = await fromLog(org.id);
    expect(log).toMatchObject({ deposited: 1000, captured: 137, refunded: 0, held: 0, authorized: 137, declined: { BUDGET_EXCEEDED: 363 } });
    const { rows } = await db.query(`select count(*)::int as n, sum(captured_amount)::int as captured from spends where org_id = $1`, [org.id]);
    expect(rows[0]).toEqual({ n: 137, captured: 137 });
  });

  it('wallet 137, budget 1000, 500 concurrent spends: exactly 137 succeed, the rest are INSUFFICIENT_FUNDS', async () => {
    const org = await freshOrg('Storm wallet');
    await deposit(org, 137);
    const agentId = await agentWithBudget(org, { fixed_limit: 1000 });
    expect(await storm(org, [agentId])).toEqual({ '201': 137, '402 INSUFFICIENT_FUNDS': 363 });
    expect((await org.api.get('/v1/wallet')).body.data.balances).toEqual([{ currency: 'usd', available: 0, held: 0 }]);
    expect(await fromLog(org.id)).toMatchObject({ captured: 137, declined: { INSUFFICIENT_FUNDS: 363 } });
  });

  it('two agents sharing one wallet of 137 never take more than it holds, whatever their budgets', async () => {
    const org = await freshOrg('Storm shared');
    await deposit(org, 137);
    const first = await agentWithBudget(org, { fixed_limit: 100 });
    const second = await agentWithBudget(org, { fixed_limit: 100 });
    const tally = await storm(org, [first, second]);
    expect(tally['201']).toBe(137);
    expect((tally['402 INSUFFICIENT_FUNDS'] ?? 0) + (tally['402 BUDGET_EXCEEDED'] ?? 0)).toBe(363);
    const spent = await Promise.all([first, second].map(async (id) => (await org.api.get(`/v1/agents/${id}/budget`)).body.data.spent));
    expect(spent[0] + spent[1]).toBe(137);
    expect(Math.max(...spent)).toBeLessThanOrEqual(100);
    expect((await org.api.get('/v1/wallet')).body.data.balances[0]).toEqual({ currency: 'usd', available: 0, held: 0 });
    expect((await fromLog(org.id)).captured).toBe(137);
  });

  it('holds: authorize, capture part (the rest released), release, refund, and a second resolution is 409', async () => {
    const org = await freshOrg('Holds');
    await deposit(org, 1000);
    const agentId = await agentWithBudget(org, { fixed_limit: 500, max_position_value: 300 });

    const hold = await org.api.post('/v1/spends', { agent_id: agentId, amount: 200, currency: 'usd', capture: false, merchant: 'openai' });
    expect(hold.status).toBe(201);
    expect(hold.body.data).toMatchObject({ status: 'authorized', amount: 200, captured_amount: 0, merchant: 'openai' });
    expect(new Date(hold.body.data.expires_at).getTime() - new Date(hold.body.data.created_at).getTime()).toBe(7 * 86_400_000);
    expect((await org.api.get('/v1/wallet')).body.data.balances[0]).toEqual({ currency: 'usd', available: 800, held: 200 });
    expectError(await org.api.post('/v1/spends', { agent_id: agentId, amount: 150, currency: 'usd', capture: false }), 402, 'BUDGET_EXCEEDED');

    const captured = await org.api.post(`/v1/spends/${hold.body.data.id}/capture`, { amount: 120 });
    expect(captured.status).toBe(200);
    expect(captured.body.data).toMatchObject({ status: 'captured', captured_amount: 120, expires_at: null });
    expect((await org.api.get('/v1/wallet')).body.data.balances[0]).toEqual({ currency: 'usd', available: 880, held: 0 });
    expectError(await org.api.post(`/v1/spends/${hold.body.data.id}/capture`, {}), 409, 'CONFLICT');
    expectError(await org.api.post(`/v1/spends/${hold.body.data.id}/release`), 409, 'CONFLICT');

    const second = (await org.api.post('/v1/spends', { agent_id: agentId, amount: 50, currency: 'usd', capture: false })).body.data;
    const released = await org.api.post(`/v1/spends/${second.id}/release`);
    expect(released.body.data.status).toBe('released');
    expectError(await org.api.post(`/v1/spends/${second.id}/capture`, {}), 409, 'CONFLICT');

    const refundedPart = await org.api.post(`/v1/spends/${hold.body.data.id}/refund`, { amount: 20 });
    expect(refundedPart.body.data).toMatchObject({ status: 'captured', refunded_amount: 20 });
    const refundedAll = await org.api.post(`/v1/spends/${hold.body.data.id}/refund`, {});
    expect(refundedAll.body.data).toMatchObject({ status: 'refunded', refunded_amount: 120 });
    expectError(await org.api.post(`/v1/spends/${hold.body.data.id}/refund`, {}), 409, 'CONFLICT');
    expect((await org.api.get('/v1/wallet')).body.data.balances[0]).toEqual({ currency: 'usd', available: 1000, held: 0 });
    const budget = (await org.api.get(`/v1/agents/${agentId}/budget`)).body.data;
    expect(budget).toMatchObject({ spent: 0, held: 0, components: { fixed_limit: { limit: 500, used: 0, remaining: 500 } } });

    const list = await org.api.get(`/v1/spends?agent_id=${agentId}&status=released`);
    expect(list.body.data.items.map((s: { id: string }) => s.id)).toEqual([second.id]);
    expect((await org.api.get(`/v1/spends/${second.id}`)).body.data.status).toBe('released');
  });

  it('budget components, the most restrictive wins, and GET /v1/budget for the agent itself', async () => {
    const org = await freshOrg('Budgets');
    await deposit(org, 10_000);
    const agentId = await agentWithBudget(org, {
      fixed_limit: 5000,
      budget_percent: 10,
      limits: [
        { interval: 'daily', amount: 300 },
        { interval: 'per_transaction', amount: 250 },
      ],
    });
    const agentKey = (await org.api.post('/v1/api-keys', { agent_id: agentId, scopes: ['spend:write', 'spend:read'] })).body.data.key;
    const agent = org.api.withKey(agentKey);
    expect((await agent.post('/v1/spends', { amount: 200, currency: 'usd' })).status).toBe(201);
    const own = (await agent.get('/v1/budget')).body.data;
    expect(own).toMatchObject({
      agent_id: agentId,
      currency: 'usd',
      remaining: 100,
      limiting_factor: 'daily',
      spent: 200,
      wallet_available: 9800,
      components: {
        fixed_limit: { limit: 5000, used: 200, remaining: 4800 },
        budget_percent: { limit: 980, used: 0, remaining: 980 },
        daily: { limit: 300, used: 200, remaining: 100 },
        per_transaction: { limit: 250, used: 0, remaining: 250 },
      },
    });
    const declined = await agent.post('/v1/spends', { amount: 150, currency: 'usd' });
    expectError(declined, 402, 'BUDGET_EXCEEDED');
    expect(declined.body.error.details).toEqual({ limiting_factor: 'daily', limit: 300, used: 200, remaining: 100 });
    expect((await agent.get(`/v1/agents/${agentId}/budget`)).body.data.remaining).toBe(100);
    expectError(await org.api.get('/v1/budget'), 403, 'PERMISSION_DENIED');

    const bare = (await org.api.post('/v1/agents', { name: 'no budget' })).body.data.id;
    const noBudget = await org.api.post('/v1/spends', { agent_id: bare, amount: 1, currency: 'usd' });
    expectError(noBudget, 402, 'BUDGET_EXCEEDED');
    expect(noBudget.body.error.details.limiting_factor).toBe('no_budget');

    const attest = await agentWithBudget(org, { fixed_limit: 100, require_attestation: true });
    expectError(await org.api.post('/v1/spends', { agent_id: attest, amount: 1, currency: 'usd' }), 400, 'ATTESTATION_REQUIRED');
    const attested = await org.api.post('/v1/spends', {
      agent_id: attest,
      amount: 5,
      currency: 'usd',
      attestation: { purpose: 'one GPT call', expected_amount: 5, merchant: 'openai', claims: { model: 'x' } },
    });
    expect(attested.status).toBe(201);
    expect(attested.body.data.attestation).toEqual({ purpose: 'one GPT call', expected_amount: 5, merchant: 'openai', claims: { model: 'x' } });
    expectError(await org.api.post('/v1/spends', { agent_id: attest, amount: 0, currency: 'usd' }), 400, 'VALIDATION_ERROR');
    expectError(await put(org.api, `/v1/agents/${attest}/budget`, { currency: 'usd', budget_percent: 12.345 }), 400, 'VALIDATION_ERROR');
  });

  it('a paused agent cannot spend (403 AGENT_PAUSED); a revoked one neither, and revoking releases its holds', async () => {
    const org = await freshOrg('Agents');
    await deposit(org, 1000);
    const agentId = await agentWithBudget(org, { fixed_limit: 1000 });
    const holds = await Promise.all(
      [10, 20, 30].map(async (amount) => (await org.api.post('/v1/spends', { agent_id: agentId, amount, currency: 'usd', capture: false })).body.data.id),
    );
    expect((await org.api.get('/v1/wallet')).body.data.balances[0].held).toBe(60);

    await org.api.post(`/v1/agents/${agentId}/pause`, { duration: '1h' });
    const paused = await org.api.post('/v1/spends', { agent_id: agentId, amount: 1, currency: 'usd' });
    expectError(paused, 403, 'AGENT_PAUSED');
    expect(paused.body.error.details.paused_until).toEqual(expect.any(String));
    await org.api.post(`/v1/agents/${agentId}/resume`);
    expect((await org.api.post('/v1/spends', { agent_id: agentId, amount: 1, currency: 'usd' })).status).toBe(201);

    expect((await org.api.post(`/v1/agents/${agentId}/revoke`)).status).toBe(200);
    expectError(await org.api.post('/v1/spends', { agent_id: agentId, amount: 1, currency: 'usd' }), 403, 'AGENT_REVOKED');
    const deadline = Date.now() + 10_000;
    let statuses: string[] = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(holds.map(async (id) => (await org.api.get(`/v1/spends/${id}`)).body.data.status));
      if (statuses.every((s) => s === 'released')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(statuses).toEqual(['released', 'released', 'released']);
    expect((await org.api.get('/v1/wallet')).body.data.balances[0]).toEqual({ currency: 'usd', available: 999, held: 0 });
    const { rows } = await db.query(`select count(*)::int as n from events where type = 'HoldReleased' and data->>'agent_id' = $1 and data->>'reason' = 'agent_revoked'`, [agentId]);
    expect(rows[0].n).toBe(3);
  });

  it('a retried spend with the same Idempotency-Key returns the first spend and spends once, even when retried concurrently', async () => {
    const org = await freshOrg('Idempotent');
    await deposit(org, 100);
    const agentId = await agentWithBudget(org, { fixed_limit: 100 });
    const body = { agent_id: agentId, amount: 7, currency: 'usd' };
    const tries = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? org.api : org.api.at(stack.gatewayUrl(1))).post('/v1/spends', body, { 'idempotency-key': 'order-42' })),
    );
    // Concurrent retries see the first still running (409 IDEMPOTENCY_IN_PROGRESS) or its answer.
    const created = tries.filter((t) => t.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const t of tries.filter((t) => t.status !== 201)) expectError(t, 409, 'IDEMPOTENCY_IN_PROGRESS');
    expect(new Set(created.map((t) => t.body.data.id)).size).toBe(1);
    const later = await org.api.post('/v1/spends', body, { 'idempotency-key': 'order-42' });
    expect(later.status).toBe(201);
    expect(later.body.data.id).toBe(created[0].body.data.id);
    expect((await org.api.get('/v1/wallet')).body.data.balances[0]).toEqual({ currency: 'usd', available: 93, held: 0 });
    expectError(await org.api.post('/v1/spends', { ...body, amount: 8 }, { 'idempotency-key': 'order-42' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    const { rows } = await db.query(`select count(*)::int as n from events where type = 'SpendAuthorized' and metadata->>'idempotency_key' = 'order-42'`);
    expect(rows[0].n).toBe(1);
  });

  it("another org's or environment's wallet and spends are invisible (404)", async () => {
    const org = await freshOrg('Mine');
    const other = await freshOrg('Theirs');
    await deposit(org, 100);
    const agentId = await agentWithBudget(org, { fixed_limit: 100 });
    const spend = (await org.api.post('/v1/spends', { agent_id: agentId, amount: 5, currency: 'usd', capture: false })).body.data;
    expectError(await other.api.get(`/v1/spends/${spend.id}`), 404, 'NOT_FOUND');
    expectError(await other.api.post(`/v1/spends/${spend.id}/capture`, {}), 404, 'NOT_FOUND');
    expectError(await other.api.get(`/v1/agents/${agentId}/budget`), 404, 'NOT_FOUND');
    expectError(await put(other.api, `/v1/agents/${agentId}/budget`, { currency: 'usd', fixed_limit: 5 }), 404, 'NOT_FOUND');
    expectError(await other.api.post('/v1/spends', { agent_id: agentId, amount: 1, currency: 'usd' }), 404, 'NOT_FOUND');
    expect((await other.api.get('/v1/wallet')).body.data.balances).toEqual([]);
    const live = org.api.withKey((await org.api.post('/v1/api-keys', { environment: 'live' })).body.data.key);
    expect((await live.get('/v1/wallet')).body.data.balances).toEqual([]);
    expectError(await live.get(`/v1/spends/${spend.id}`), 404, 'NOT_FOUND');
    expect((await live.get('/v1/spends')).body.data.items).toEqual([]);
  });
});
