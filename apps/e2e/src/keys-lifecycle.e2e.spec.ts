import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { Stack } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, signedHeaders, TestOrg } from './client';

/**
 * Keys and agents through the public API, every line of API.md's Authentication, API keys and
 * Agents sections; at the end, every table, event and log line is searched for the secrets handed
 * out during the run.
 */
describe('API keys and agents (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;
  let anonymous: ApiClient;
  /** Every plaintext key and signing secret the API gave out in this file. */
  const secrets: string[] = [];

  const remember = <T extends { key?: string; signing_secret?: string }>(created: T): T => {
    if (created.key) secrets.push(created.key);
    if (created.signing_secret) secrets.push(created.signing_secret);
    return created;
  };

  beforeAll(async () => {
    stack = await Stack.start({ label: 'keys' });
    acme = await createOrg(stack, 'Acme');
    secrets.push(acme.key);
    anonymous = new ApiClient(stack.gatewayUrl());
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function newKey(body: Record<string, unknown> = {}, api = acme.api) {
    const res = await api.post('/v1/api-keys', body);
    expect(res.status).toBe(201);
    return remember(res.body.data);
  }

  describe('the Authentication table, each row from a real request', () => {
    it('401 UNAUTHORIZED: no key, unknown key, malformed key, bad checksum', async () => {
      expectError(await anonymous.get('/v1/whoami'), 401, 'UNAUTHORIZED');
      expectError(await anonymous.withKey('kl_test_' + '0'.repeat(46)).get('/v1/whoami'), 401, 'UNAUTHORIZED');
      expectError(await anonymous.withKey('definitely not a key').get('/v1/whoami'), 401, 'UNAUTHORIZED');
      const typo = acme.key.slice(0, -7) + (acme.key.at(-7) === 'a' ? 'b' : 'a') + acme.key.slice(-6);
      expectError(await anonymous.withKey(typo).get('/v1/whoami'), 401, 'UNAUTHORIZED');
    });

    it('401 KEY_EXPIRED: past its expires_at, and the old key after a roll with no grace', async () => {
      const shortLived = await newKey({ name: 'short', expires_at: new Date(Date.now() + 1500).toISOString() });
      expect((await anonymous.withKey(shortLived.key).get('/v1/whoami')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1700));
      expectError(await anonymous.withKey(shortLived.key).get('/v1/whoami'), 401, 'KEY_EXPIRED');

      const rolled = await newKey({ name: 'to roll' });
      const roll = await acme.api.post(`/v1/api-keys/${rolled.id}/roll`, { grace_period_seconds: 0 });
      expect(roll.status).toBe(201);
      remember(roll.body.data.api_key);
      expectError(await anonymous.withKey(rolled.key).get('/v1/whoami'), 401, 'KEY_EXPIRED');
      expect((await anonymous.withKey(roll.body.data.api_key.key).get('/v1/whoami')).status).toBe(200);
    });

    it('401 KEY_REVOKED: a revoked key', async () => {
      const key = await newKey();
      expect((await acme.api.post(`/v1/api-keys/${key.id}/revoke`)).status).toBe(200);
      expectError(await anonymous.withKey(key.key).get('/v1/whoami'), 401, 'KEY_REVOKED');
    });

    it('403 PERMISSION_DENIED naming the scope the route needs', async () => {
      const reader = await newKey({ scopes: ['keys:read'] });
      const res = await anonymous.withKey(reader.key).post('/v1/agents', { name: 'x' });
      expectError(res, 403, 'PERMISSION_DENIED');
      expect(res.body.error.details.required_scope).toBe('agents:write');
      expect((await anonymous.withKey(reader.key).get('/v1/api-keys')).status).toBe(200);
    });

    it('403 AGENT_PAUSED with paused_until, and 401 KEY_REVOKED once the agent is revoked', async () => {
      const agent = (await acme.api.post('/v1/agents', { name: 'shopper' })).body.data;
      const agentKey = await newKey({ agent_id: agent.id, scopes: ['spend:write', 'agents:read'] });
      const asAgent = anonymous.withKey(agentKey.key);
      expect((await asAgent.get('/v1/whoami')).body.data.agent).toMatchObject({ id: agent.id, status: 'active' });

      const paused = await acme.api.post(`/v1/agents/${agent.id}/pause`, { duration: '15m' });
      expect(paused.status).toBe(200);
      expect(paused.body.data.status).toBe('paused');
      const until = Date.parse(paused.body.data.paused_until);
      expect(until - Date.now()).toBeGreaterThan(14 * 60_000);
      expect(until - Date.now()).toBeLessThanOrEqual(15 * 60_000);
      const refused = await asAgent.get('/v1/whoami');
      expectError(refused, 403, 'AGENT_PAUSED');
      expect(refused.body.error.details.paused_until).toBe(paused.body.data.paused_until);

      const indefinite = await acme.api.post(`/v1/agents/${agent.id}/pause`, { duration: 'indefinite' });
      expect(indefinite.body.data.paused_until).toBeNull();
      expect((await asAgent.get('/v1/whoami')).body.error.details.paused_until).toBeNull();

      expect((await acme.api.post(`/v1/agents/${agent.id}/resume`)).body.data).toMatchObject({ status: 'active', paused_until: null });
      expect((await asAgent.get('/v1/whoami')).status).toBe(200);

      const revoked = await acme.api.post(`/v1/agents/${agent.id}/revoke`);
      expect(revoked.body.data.status).toBe('revoked');
      expectError(await asAgent.get('/v1/whoami'), 401, 'KEY_REVOKED');
      const keyAfter = await acme.api.get(`/v1/api-keys/${agentKey.id}`);
      expect(keyAfter.body.data.status).toBe('revoked');
      expectError(await acme.api.post(`/v1/agents/${agent.id}/pause`, { duration: '1h' }), 403, 'AGENT_REVOKED');
    });

    it('401 SIGNATURE_INVALID (missing, stale, mismatch) for signing keys; a good signature passes', async () => {
      const signer = await newKey({ name: 'signer', signing: true });
      expect(signer.signing).toBe(true);
      expect(signer.signing_secret).toMatch(/^whsec_/);
      const api = anonymous.withKey(signer.key);

      const missing = await api.get('/v1/whoami');
      expectError(missing, 401, 'SIGNATURE_INVALID');
      expect(missing.body.error.details.reason).toBe('missing');
      const stale = await api.get('/v1/whoami', signedHeaders(signer.signing_secret, '', Math.floor(Date.now() / 1000) - 301));
      expect(stale.body.error.details.reason).toBe('stale');
      const wrong = await api.get('/v1/whoami', signedHeaders('whsec_wrong', ''));
      expect(wrong.body.error.details.reason).toBe('mismatch');
      expect((await api.get('/v1/whoami', signedHeaders(signer.signing_secret, ''))).status).toBe(200);

      // POST: the signature covers the exact raw body.
      const body = JSON.stringify({ name: 'signed agent' });
      const ok = await fetch(`${stack.gatewayUrl()}/v1/agents`, {
        method: 'POST',
        headers: { 'x-api-key': signer.key, 'content-type': 'application/json', ...signedHeaders(signer.signing_secret, body) },
        body,
      });
      expect(ok.status).toBe(201);
      const tampered = await fetch(`${stack.gatewayUrl()}/v1/agents`, {
        method: 'POST',
        headers: { 'x-api-key': signer.key, 'content-type': 'application/json', ...signedHeaders(signer.signing_secret, body) },
        body: JSON.stringify({ name: 'other agent' }),
      });
      expect(tampered.status).toBe(401);
      expect(((await tampered.json()) as any).error.details.reason).toBe('mismatch');
    });

    it("503 naming the missing secret, not the gateway's configuration, for a signing key whose sealed secret is gone", async () => {
      const signer = await newKey({ name: 'lost secret', signing: true });
      const db = new Client({ connectionString: stack.databaseUrl });
      await db.connect();
      try {
        expect((await db.query('delete from key_signing_secrets where key_id = $1', [signer.id])).rowCount).toBe(1);
      } finally {
        await db.end();
      }
      // Never used before, so no gateway has it (or its secret) cached.
      const refused = await anonymous.withKey(signer.key).get('/v1/whoami', signedHeaders(signer.signing_secret, ''));
      expectError(refused, 503, 'SERVICE_UNAVAILABLE');
      expect(refused.body.error.message).toMatch(/secret is not on record; roll the key/);
    });
  });

  describe('key lifecycle', () => {
    it('creates keys with a subset of the creator scopes, and refuses more', async () => {
      const limited = await newKey({ name: 'limited', scopes: ['keys:read', 'keys:write'] });
      expect(limited).toMatchObject({ scopes: ['keys:read', 'keys:write'], environment: 'test', claimed: true, signing: false });
      const asLimited = anonymous.withKey(limited.key);
      const sub = await asLimited.post('/v1/api-keys', { scopes: ['keys:read'] });
      expect(sub.status).toBe(201);
      remember(sub.body.data);
      const inherits = await asLimited.post('/v1/api-keys', {});
      expect(remember(inherits.body.data).scopes).toEqual(['keys:read', 'keys:write']);
      const beyond = await asLimited.post('/v1/api-keys', { scopes: ['spend:write'] });
      expectError(beyond, 403, 'PERMISSION_DENIED');
      expect(beyond.body.error.details.required_scope).toBe('spend:write');
      expectError(await asLimited.post('/v1/api-keys', { scopes: ['*'] }), 403, 'PERMISSION_DENIED');
    });

    it('accepts a custom key once and answers 409 CONFLICT for one already in use', async () => {
      const custom = 'my-own-secret-key_' + Date.now().toString(36).padEnd(20, 'x');
      const res = await acme.api.post('/v1/api-keys', { key: custom, name: 'custom' });
      expect(res.status).toBe(201);
      remember(res.body.data);
      expect(res.body.data.key).toBe(custom);
      expect(res.body.data.last4).toBe(custom.slice(-4));
      expect((await anonymous.withKey(custom).get('/v1/whoami')).status).toBe(200);
      expectError(await acme.api.post('/v1/api-keys', { key: custom }), 409, 'CONFLICT');
      expectError(await acme.api.post('/v1/api-keys', { key: 'short' }), 400, 'VALIDATION_ERROR');
    });

    it('lists, gets and patches keys; never shows a hash or the plaintext again', async () => {
      const key = await newKey({ name: 'to patch' });
      const patched = await acme.api.patch(`/v1/api-keys/${key.id}`, { name: 'patched', scopes: ['keys:read'] });
      expect(patched.body.data).toMatchObject({ id: key.id, name: 'patched', scopes: ['keys:read'] });
      const got = await acme.api.get(`/v1/api-keys/${key.id}`);
      expect(got.body.data).toEqual(patched.body.data);
      expect(got.body.data.key).toBeUndefined();
      const page1 = await acme.api.get('/v1/api-keys?limit=2');
      expect(page1.body.data.items).toHaveLength(2);
      expect(page1.body.data.next_cursor).toEqual(expect.any(String));
      const page2 = await acme.api.get(`/v1/api-keys?limit=2&cursor=${page1.body.data.next_cursor}`);
      const ids = [...page1.body.data.items, ...page2.body.data.items].map((k: { id: string }) => k.id);
      expect(new Set(ids).size).toBe(4);
      const all = await acme.api.get('/v1/api-keys?limit=100');
      expect(JSON.stringify(all.body)).not.toMatch(/key_hash|"key":/);
      const revokedOnly = await acme.api.get('/v1/api-keys?status=revoked&limit=100');
      expect(revokedOnly.body.data.items.every((k: { status: string }) => k.status === 'revoked')).toBe(true);
    });

    it('revokes by POST …/revoke and by DELETE; revoking again returns the same result', async () => {
      const key = await newKey();
      const first = await acme.api.post(`/v1/api-keys/${key.id}/revoke`);
      expect(first.body.data.status).toBe('revoked');
      const again = await acme.api.delete(`/v1/api-keys/${key.id}`);
      expect(again.status).toBe(200);
      expect(again.body.data).toEqual(first.body.data);
    });

    it('rolls with a grace period: the old key works until then, the new key keeps the original expiry', async () => {
      const expiry = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
      const old = await newKey({ name: 'rollable', expires_at: expiry, scopes: ['keys:read', 'agents:read'] });
      const roll = await acme.api.post(`/v1/api-keys/${old.id}/roll`, { grace_period_seconds: 2 });
      expect(roll.status).toBe(201);
      const fresh = remember(roll.body.data.api_key);
      expect(fresh).toMatchObject({ name: 'rollable', scopes: ['keys:read', 'agents:read'], expires_at: expiry, environment: 'test' });
      expect(fresh.key).not.toBe(old.key);
      expect(Date.parse(roll.body.data.previous.expires_at) - Date.now()).toBeLessThanOrEqual(2000);
      expect((await anonymous.withKey(old.key).get('/v1/whoami')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 2200));
      expectError(await anonymous.withKey(old.key).get('/v1/whoami'), 401, 'KEY_EXPIRED');
      expect((await anonymous.withKey(fresh.key).get('/v1/whoami')).status).toBe(200);
      expect((await acme.api.get(`/v1/api-keys/${old.id}`)).body.data.status).toBe('expired');
    });

    it('self-serve: an unclaimed key without credentials, linked into an org with its sandbox resources', async () => {
      const created = await anonymous.post('/v1/api-keys', { name: 'from the docs page' });
      expect(created.status).toBe(201);
      const sandboxKey = remember(created.body.data);
      expect(sandboxKey).toMatchObject({ claimed: false, scopes: ['*'], environment: 'test' });
      const asSandbox = anonymous.withKey(sandboxKey.key);
      const sandboxOrg = (await asSandbox.get('/v1/whoami')).body.data.org.id;
      expect(sandboxOrg).not.toBe(acme.id);
      const sandboxAgent = (await asSandbox.post('/v1/agents', { name: 'prototype' })).body.data;

      const linked = await acme.api.post('/v1/api-keys/link', { key: sandboxKey.key });
      expect(linked.status).toBe(200);
      expect(linked.body.data).toMatchObject({ id: sandboxKey.id, claimed: true });
      expect((await asSandbox.get('/v1/whoami')).body.data.org.id).toBe(acme.id);
      expect((await acme.api.get(`/v1/agents/${sandboxAgent.id}`)).status).toBe(200);
      expectError(await acme.api.post('/v1/api-keys/link', { key: sandboxKey.key }), 404, 'NOT_FOUND');
      expectError(await acme.api.post('/v1/api-keys/link', { key: acme.key }), 404, 'NOT_FOUND');
    });

    it('403 PLAN_LIMIT_REACHED once the plan key limit is full', async () => {
      const small = await createOrg(stack, 'Small', { plan: 'starter' });
      secrets.push(small.key);
      let created = 1;
      let refused: any = null;
      for (let i = 0; i < 30 && refused === null; i++) {
        const res = await small.api.post('/v1/api-keys', {});
        if (res.status === 201) {
          remember(res.body.data);
          created++;
        } else refused = res;
      }
      expect(created).toBe(25);
      expectError(refused, 403, 'PLAN_LIMIT_REACHED');
      expect(refused.body.error.details.limit).toBe(25);
    });

    it('records every change as an event naming the actor', async () => {
      const key = await newKey({ name: 'audited' });
      await acme.api.patch(`/v1/api-keys/${key.id}`, { name: 'audited 2' });
      await acme.api.post(`/v1/api-keys/${key.id}/revoke`);
      const db = new Client({ connectionString: stack.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query(`select type, metadata from events where stream = $1 order by stream_version`, [`key-${key.id}`]);
        expect(rows.map((r) => r.type)).toEqual(['KeyCreated', 'KeyUpdated', 'KeyRevoked']);
        for (const row of rows) expect(row.metadata).toMatchObject({ actor_key_id: acme.keyId, request_id: expect.stringMatching(/^req_/) });
      } finally {
        await db.end();
      }
    });
  });

  describe('agents', () => {
    it('creates, lists, gets and patches agents', async () => {
      const created = await acme.api.post('/v1/agents', { name: 'researcher', metadata: { team: 'ml' } });
      expect(created.status).toBe(201);
      expect(created.body.data).toMatchObject({ id: expect.stringMatching(/^agt_/), name: 'researcher', environment: 'test', status: 'active', paused_until: null, metadata: { team: 'ml' } });
      const id = created.body.data.id;
      const patched = await acme.api.patch(`/v1/agents/${id}`, { name: 'researcher-2' });
      expect(patched.body.data).toMatchObject({ name: 'researcher-2', metadata: { team: 'ml' } });
      expect((await acme.api.get(`/v1/agents/${id}`)).body.data).toEqual(patched.body.data);
      const list = await acme.api.get('/v1/agents?limit=100');
      expect(list.body.data.items.map((a: { id: string }) => a.id)).toContain(id);
      expectError(await acme.api.post(`/v1/agents/${id}/pause`, { duration: '2h' }), 400, 'VALIDATION_ERROR');
    });

    it('an agent-bound key acts only for its agent', async () => {
      const mine = (await acme.api.post('/v1/agents', { name: 'mine' })).body.data;
      const other = (await acme.api.post('/v1/agents', { name: 'other' })).body.data;
      const bound = await newKey({ agent_id: mine.id, scopes: ['agents:read', 'keys:read', 'keys:write'] });
      const asBound = anonymous.withKey(bound.key);
      expect((await asBound.get(`/v1/agents/${mine.id}`)).status).toBe(200);
      expectError(await asBound.get(`/v1/agents/${other.id}`), 404, 'NOT_FOUND');
      expect((await asBound.get('/v1/agents')).body.data.items.map((a: { id: string }) => a.id)).toEqual([mine.id]);
      const minted = await asBound.post('/v1/api-keys', { scopes: ['keys:read'] });
      expect(remember(minted.body.data).agent_id).toBe(mine.id);
      expectError(await asBound.post('/v1/api-keys', { agent_id: other.id, scopes: ['keys:read'] }), 404, 'NOT_FOUND');
    });
  });

  it('stores no plaintext key or signing secret in any table, event or log line, and no sealed signing secret outside its own table', async () => {
    expect(secrets.length).toBeGreaterThan(40);
    // Give the gateways a moment to report usage and the relay to publish, so their logs are written.
    await new Promise((r) => setTimeout(r, 1500));
    const db = new Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const haystacks: { where: string; text: string }[] = [];
    let sealed: string[] = [];
    try {
      sealed = (await db.query<{ sealed: string }>('select sealed from key_signing_secrets')).rows.map((r) => r.sealed);
      const tables = await db.query(`select table_name from information_schema.tables where table_schema = 'public'`);
      for (const { table_name } of tables.rows) {
        const rows = await db.query(`select t::text as row from "${table_name}" t`);
        haystacks.push({ where: `table ${table_name}`, text: rows.rows.map((r) => r.row).join('\n') });
      }
    } finally {
      await db.end();
    }
    for (const file of stack.logFiles) haystacks.push({ where: file, text: readFileSync(file, 'utf8') });
    expect(haystacks.some((h) => h.where === 'table events' && h.text.includes('KeyCreated'))).toBe(true);
    const leaks = secrets.flatMap((secret) => haystacks.filter((h) => h.text.includes(secret)).map((h) => `${secret.slice(0, 12)}… in ${h.where}`));
    expect(leaks).toEqual([]);
    // Signing secrets are kept sealed beside the log, never in it (nor in a log line): the audit
    // log and its exports carry no ciphertext that a leaked KEYLEDGER_SECRETS_KEY would open.
    expect(sealed.length).toBeGreaterThan(0);
    expect(haystacks.find((h) => h.where === 'table events')?.text).not.toContain('signing_secret_sealed');
    const copies = sealed.flatMap((s) => haystacks.filter((h) => h.where !== 'table key_signing_secrets' && h.text.includes(s)).map((h) => h.where));
    expect(copies).toEqual([]);
  });
});
