import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { Stack } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, TestOrg } from './client';

/** RFC 8628 device authorization, from the agent's request through approval to its key. */
describe('device authorization (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;
  let device: ApiClient;
  const deviceCodes: string[] = [];

  beforeAll(async () => {
    stack = await Stack.start({ label: 'device' });
    acme = await createOrg(stack, 'Acme');
    device = new ApiClient(stack.gatewayUrl());
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function requestCode(agentName: string, scopes?: string[]) {
    const res = await device.post('/v1/auth/device', { agent_name: agentName, ...(scopes ? { scopes } : {}) });
    expect(res.status).toBe(200);
    deviceCodes.push(res.body.data.device_code);
    return res.body.data;
  }

  it('hands out an RFC 8628 user code, a high-entropy device code and the verification page', async () => {
    const code = await requestCode('laptop-agent');
    expect(code).toMatchObject({
      user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
      verification_uri: `${stack.gatewayUrl()}/dashboard/device`,
      expires_in: 900,
      interval: 5,
    });
    expect(code.device_code.length).toBeGreaterThanOrEqual(43);
    expect(code.verification_uri_complete).toBe(`${code.verification_uri}?user_code=${encodeURIComponent(code.user_code)}`);
  });

  it('polling: pending before approval, SLOW_DOWN with a longer interval when too fast', async () => {
    const code = await requestCode('eager-agent');
    expectError(await device.post('/v1/auth/device/token', { device_code: code.device_code }), 400, 'AUTHORIZATION_PENDING');
    const slow = await device.post('/v1/auth/device/token', { device_code: code.device_code });
    expectError(slow, 400, 'SLOW_DOWN');
    expect(slow.body.error.details.interval).toBe(10);
    const slower = await device.post('/v1/auth/device/token', { device_code: code.device_code });
    expect(slower.body.error.details.interval).toBe(15);
  });

  it('approval creates the agent; the polling agent receives its bound key exactly once', async () => {
    const code = await requestCode('build-bot', ['spend:write', 'agents:read']);
    // A person types the code in any case, with or without the dash.
    const typed = code.user_code.toLowerCase().replace('-', '');
    const approved = await acme.api.post('/v1/auth/device/approve', { user_code: typed });
    expect(approved.status).toBe(200);
    expect(approved.body.data.agent).toMatchObject({ id: expect.stringMatching(/^agt_/), name: 'build-bot', status: 'active' });

    const token = await device.post('/v1/auth/device/token', { device_code: code.device_code });
    expect(token.status).toBe(200);
    expect(token.body.data.agent.id).toBe(approved.body.data.agent.id);
    expect(token.body.data.api_key).toMatchObject({ agent_id: approved.body.data.agent.id, scopes: ['spend:write', 'agents:read'], claimed: true });
    const key = token.body.data.api_key.key;
    const whoami = await device.withKey(key).get('/v1/whoami');
    expect(whoami.body.data).toMatchObject({ org: { id: acme.id }, agent: { id: approved.body.data.agent.id } });

    expectError(await device.post('/v1/auth/device/token', { device_code: code.device_code }), 400, 'EXPIRED_TOKEN');
    expectError(await acme.api.post('/v1/auth/device/approve', { user_code: code.user_code }), 404, 'NOT_FOUND');
  });

  it('approval can bind an existing agent', async () => {
    const agent = (await acme.api.post('/v1/agents', { name: 'existing' })).body.data;
    const code = await requestCode('ignored-name');
    const approved = await acme.api.post('/v1/auth/device/approve', { user_code: code.user_code, agent_id: agent.id });
    expect(approved.body.data.agent.id).toBe(agent.id);
    const token = await device.post('/v1/auth/device/token', { device_code: code.device_code });
    expect(token.body.data.api_key.agent_id).toBe(agent.id);
  });

  it('a denied request answers ACCESS_DENIED; an unknown device code EXPIRED_TOKEN', async () => {
    const code = await requestCode('suspicious-agent');
    expect((await acme.api.post('/v1/auth/device/deny', { user_code: code.user_code })).status).toBe(200);
    expectError(await device.post('/v1/auth/device/token', { device_code: code.device_code }), 400, 'ACCESS_DENIED');
    expectError(await device.post('/v1/auth/device/token', { device_code: 'not-a-device-code' }), 400, 'EXPIRED_TOKEN');
  });

  it('locks an org out of approvals for 15 minutes after 5 wrong user codes, and no other org', async () => {
    const victim = await createOrg(stack, 'Guessers');
    const code = await requestCode('target');
    for (const guess of ['BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD', 'FFFF-FFFF', 'nonsense']) {
      expectError(await victim.api.post('/v1/auth/device/approve', { user_code: guess }), 404, 'NOT_FOUND');
    }
    const locked = await victim.api.post('/v1/auth/device/approve', { user_code: code.user_code });
    expectError(locked, 429, 'RATE_LIMITED');
    expect(locked.body.error.details.retry_after).toBeGreaterThan(14 * 60);
    expect(locked.body.error.details.retry_after).toBeLessThanOrEqual(15 * 60);
    expectError(await victim.api.post('/v1/auth/device/deny', { user_code: code.user_code }), 429, 'RATE_LIMITED');
    // Another org is not affected, and the code is still good.
    expect((await acme.api.post('/v1/auth/device/approve', { user_code: code.user_code })).status).toBe(200);
  });

  it('needs agents:write to approve, and keeps device codes out of tables, events and logs', async () => {
    const reader = (await acme.api.post('/v1/api-keys', { scopes: ['agents:read'] })).body.data.key;
    const code = await requestCode('scoped');
    const res = await device.withKey(reader).post('/v1/auth/device/approve', { user_code: code.user_code });
    expectError(res, 403, 'PERMISSION_DENIED');

    await new Promise((r) => setTimeout(r, 500));
    const db = new Client({ connectionString: stack.databaseUrl });
    await db.connect();
    let text = '';
    try {
      const tables = await db.query(`select table_name from information_schema.tables where table_schema = 'public'`);
      for (const { table_name } of tables.rows) text += (await db.query(`select t::text as row from "${table_name}" t`)).rows.map((r) => r.row).join('\n');
    } finally {
      await db.end();
    }
    for (const file of stack.logFiles) text += readFileSync(file, 'utf8');
    expect(text).toContain('DeviceAuthorizationRequested');
    expect(deviceCodes.filter((c) => text.includes(c))).toEqual([]);
  });
});
