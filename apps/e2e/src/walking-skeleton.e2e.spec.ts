import { connect, JSONCodec, NatsConnection } from 'nats';
import { Client } from 'pg';
import { BACKEND_APPS, Stack } from '@keyledger/testing';
import { http } from './http';

/**
 * The walking skeleton, black-box: every app a separate process, a client speaking HTTP to the
 * gateway, checked against API.md.
 */
describe('walking skeleton (five apps as processes, real Postgres and NATS)', () => {
  let stack: Stack;
  let nats: NatsConnection;
  const published: { subject: string; msgId: string | undefined; data: any }[] = [];
  let gateway: string;
  let operator: Record<string, string>;

  beforeAll(async () => {
    stack = await Stack.start({ label: 'skeleton', env: { KEYLEDGER_RPC_TIMEOUT_MS: '1000' } });
    gateway = stack.gatewayUrl();
    operator = { authorization: `Bearer ${stack.operatorToken}` };
    nats = await connect({ servers: stack.natsUrl });
    const codec = JSONCodec();
    nats.subscribe('events.>', {
      callback: (_err, msg) => published.push({ subject: msg.subject, msgId: msg.headers?.get('Nats-Msg-Id'), data: codec.decode(msg.data) }),
    });
  });

  afterAll(async () => {
    await nats?.close();
    await stack?.stop();
  });

  async function createOrg(name: string, query = '') {
    return http(gateway, 'POST', `/v1/orgs${query}`, { headers: operator, json: { name } });
  }

  it('creates an org with the operator token and returns its first key once, in the envelope', async () => {
    const res = await createOrg('Acme');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      success: true,
      data: {
        org: { id: expect.stringMatching(/^org_/), name: 'Acme', plan: null },
        api_key: {
          id: expect.stringMatching(/^key_/),
          key: expect.stringMatching(/^kl_test_[0-9A-Za-z]{46}$/),
          environment: 'test',
          scopes: ['*'],
          status: 'active',
          claimed: true,
        },
      },
      request_id: expect.stringMatching(/^req_/),
    });
    expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
    expect(res.body.data.api_key.last4).toBe(res.body.data.api_key.key.slice(-4));
    expect(JSON.stringify(res.body.data.api_key)).not.toMatch(/hash/);
  });

  it('creates a live first key with ?environment=live', async () => {
    const res = await createOrg('Live Co', '?environment=live');
    expect(res.status).toBe(201);
    expect(res.body.data.api_key.key).toMatch(/^kl_live_/);
    expect(res.body.data.api_key.environment).toBe('live');
  });

  it('authenticates whoami from the read model with each accepted header', async () => {
    const created = await createOrg('Whoami Inc');
    const key: string = created.body.data.api_key.key;
    const variants: Record<string, string>[] = [{ 'x-api-key': key }, { 'api-key': key }, { authorization: `Bearer ${key}` }];
    for (const headers of variants) {
      const res = await http(gateway, 'GET', '/v1/whoami', { headers });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(res.body.data).toMatchObject({
        api_key: { id: created.body.data.api_key.id, status: 'active' },
        org: { id: created.body.data.org.id, name: 'Whoami Inc' },
        agent: null,
        scopes: ['*'],
        environment: 'test',
      });
      expect(res.body.data.api_key.key).toBeUndefined();
    }
  });

  it.each([
    ['no key', {}],
    ['an unknown key', { 'x-api-key': 'kl_test_' + 'A'.repeat(46) }],
    ['a malformed key', { 'x-api-key': 'not a key' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ] as [string, Record<string, string>][])('answers %s with 401 UNAUTHORIZED in the envelope', async (_label, headers) => {
    const res = await http(gateway, 'GET', '/v1/whoami', { headers });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'UNAUTHORIZED', message: expect.any(String), details: {} },
      request_id: expect.stringMatching(/^req_/),
    });
    expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
  });

  it('refuses org creation without the operator token, even with a valid API key', async () => {
    const key = (await createOrg('Not Operator')).body.data.api_key.key;
    expect((await http(gateway, 'POST', '/v1/orgs', { json: { name: 'x' } })).status).toBe(401);
    const withKey = await http(gateway, 'POST', '/v1/orgs', { headers: { authorization: `Bearer ${key}` }, json: { name: 'x' } });
    expect(withKey.status).toBe(401);
    expect(withKey.body.error.code).toBe('UNAUTHORIZED');
  });

  it('names bad and unknown fields, and answers unknown routes in the envelope', async () => {
    const bad = await http(gateway, 'POST', '/v1/orgs', { headers: operator, json: { name: '', color: 'red' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(bad.body.error.details.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'name' }), { field: 'color', message: 'unknown field' }]),
    );
    const unknown = await http(gateway, 'GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ success: false, error: { code: 'NOT_FOUND' }, request_id: expect.stringMatching(/^req_/) });
  });

  it('appends the org and its key to the log with the actor metadata, hashed, and relays them to NATS', async () => {
    const created = await createOrg('Logged Ltd');
    const { org, api_key } = created.body.data;
    const db = new Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(
        `select stream, stream_version, type, data, metadata, id from events where org_id = $1 order by position`,
        [org.id],
      );
      expect(rows.map((r) => [r.stream, r.stream_version, r.type])).toEqual([
        [`org-${org.id}`, 1, 'OrgCreated'],
        [`key-${api_key.id}`, 1, 'KeyCreated'],
      ]);
      expect(rows[0].metadata).toMatchObject({ request_id: created.body.request_id, ip: expect.any(String) });
      expect(JSON.stringify(rows)).not.toContain(api_key.key);
      const stored = await db.query(`select key_hash from api_keys where id = $1`, [api_key.id]);
      expect(stored.rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);

      const ids = rows.map((r) => r.id);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !ids.every((id) => published.some((p) => p.msgId === id))) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const relayed = ids.map((id) => published.find((p) => p.msgId === id));
      expect(relayed.map((p) => p?.subject)).toEqual(['events.org.OrgCreated', 'events.key.KeyCreated']);
      expect(relayed[1]?.data).toMatchObject({ schema_version: 1, type: 'KeyCreated', stream: `key-${api_key.id}` });
    } finally {
      await db.end();
    }
  });

  it('answers 503 fast when key-registry is down, keeps authenticating, and recovers when it returns', async () => {
    const key = (await createOrg('Before Outage')).body.data.api_key.key;
    await stack.kill('key-registry');

    const first = await createOrg('During Outage');
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(first.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(first.ms).toBeLessThan(2000);
    // The breaker is open now: the next caller is refused at once, not after another timeout.
    const second = await createOrg('During Outage');
    expect(second.status).toBe(503);
    expect(second.ms).toBeLessThan(500);

    const whoami = await http(gateway, 'GET', '/v1/whoami', { headers: { 'x-api-key': key } });
    expect(whoami.status).toBe(200);

    // Operators see it: /readyz names the service that is down, /metrics carries breaker states.
    const ready = await http(gateway, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.details.checks['key-registry']).toEqual({ ok: false, breaker: expect.stringMatching(/^(open|closed|half_open)$/) });
    expect(ready.body.error.details.checks['budget-ledger']).toEqual({ ok: true, breaker: 'closed' });
    const metrics = await fetch(`${gateway}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/keyledger_breaker_state\{service="key-registry"\} (0|0\.5|1)\n/);
    expect(metrics).toMatch(/keyledger_breaker_state\{service="budget-ledger"\} 0\n/);
    expect(metrics).toMatch(/keyledger_http_requests_total\{route="\/v1\/whoami",method="GET",status="200"\} \d+/);
    expect(metrics).toMatch(/keyledger_http_requests_total\{route="\/v1\/orgs",method="POST",status="503"\} [2-9]/);

    await stack.restart('key-registry');
    let recovered = 0;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      recovered = (await createOrg('After Outage')).status;
      if (recovered === 201) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered).toBe(201);
  });

  it('stops every app cleanly on SIGTERM', async () => {
    for (const app of [...BACKEND_APPS, 'gateway'] as const) {
      expect({ app, code: await stack.kill(app, 0, 'SIGTERM') }).toEqual({ app, code: 0 });
    }
  });
});
