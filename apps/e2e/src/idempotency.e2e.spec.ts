import { Client } from 'pg';
import { Stack } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, TestOrg } from './client';

/** Idempotency-Key on POSTs: one effect however many retries, the same answer replayed. */
describe('idempotency (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;

  beforeAll(async () => {
    stack = await Stack.start({ label: 'idempotency', instances: { gateway: 2 } });
    acme = await createOrg(stack, 'Acme');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('50 concurrent requests with one key, across two gateways, create one agent', async () => {
    const key = `agent-create-${Date.now()}`;
    const gateways = [acme.api, acme.api.at(stack.gatewayUrl(1))];
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => gateways[i % 2].post('/v1/agents', { name: 'only once' }, { 'idempotency-key': key })),
    );
    const created = answers.filter((a) => a.status === 201);
    const inProgress = answers.filter((a) => a.status === 409);
    expect(created.length + inProgress.length).toBe(50);
    for (const a of inProgress) expect(a.body.error.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    // Every 201 is the same agent: the first one's, or a replay of it.
    expect(new Set(created.map((a) => a.body.data.id)).size).toBe(1);
    const agents = (await acme.api.get('/v1/agents?limit=100')).body.data.items.filter((a: { name: string }) => a.name === 'only once');
    expect(agents).toHaveLength(1);
  });

  it('replays the same status and body with Idempotent-Replayed, on any gateway', async () => {
    const key = `replay-${Date.now()}`;
    const first = await acme.api.post('/v1/agents', { name: 'replayed' }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    for (const api of [acme.api, acme.api.at(stack.gatewayUrl(1))]) {
      const again = await api.post('/v1/agents', { name: 'replayed' }, { 'idempotency-key': key });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
    }
  });

  it('replays errors too, and answers 422 IDEMPOTENCY_KEY_REUSED for another body or path', async () => {
    const key = `errors-${Date.now()}`;
    const failed = await acme.api.post('/v1/agents/agt_doesnotexist/pause', { duration: '1h' }, { 'idempotency-key': key });
    expectError(failed, 404, 'NOT_FOUND');
    const again = await acme.api.post('/v1/agents/agt_doesnotexist/pause', { duration: '1h' }, { 'idempotency-key': key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(failed.body);
    expectError(await acme.api.post('/v1/agents/agt_doesnotexist/pause', { duration: '4h' }, { 'idempotency-key': key }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expectError(await acme.api.post('/v1/agents', { name: 'x' }, { 'idempotency-key': key }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expectError(await acme.api.post('/v1/agents', { name: 'x' }, { 'idempotency-key': 'k'.repeat(256) }), 400, 'VALIDATION_ERROR');
  });

  it('scopes keys to the organization, and keeps a new key replayable without storing it in the clear', async () => {
    const other = await createOrg(stack, 'Other');
    const key = `shared-name-${Date.now()}`;
    const mine = await acme.api.post('/v1/api-keys', { name: 'idempotent key' }, { 'idempotency-key': key });
    const theirs = await other.api.post('/v1/api-keys', { name: 'idempotent key' }, { 'idempotency-key': key });
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.data.id).not.toBe(mine.body.data.id);
    const replay = await acme.api.post('/v1/api-keys', { name: 'idempotent key' }, { 'idempotency-key': key });
    expect(replay.body.data.key).toBe(mine.body.data.key);

    const db = new Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(`select body from idempotency_records`);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => r.body.includes(mine.body.data.key))).toBe(false);
    } finally {
      await db.end();
    }
  });

  it('scopes unauthenticated requests to the client IP', async () => {
    const anonymous = new ApiClient(stack.gatewayUrl());
    const key = `self-serve-${Date.now()}`;
    const first = await anonymous.post('/v1/api-keys', { name: 'sandbox' }, { 'idempotency-key': key });
    const again = await anonymous.post('/v1/api-keys', { name: 'sandbox' }, { 'idempotency-key': key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.data.id).toBe(first.body.data.id);
  });
});
