import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { REPO_ROOT, Stack, waitFor } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, TestOrg } from './client';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The auditor's CLI, as a process of its own reading Postgres directly. */
async function keyledger(stack: Stack, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'dist/apps/cli/main.js'), ...args, '--database-url', stack.databaseUrl]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The public key of the stack's signing seed, computed independently of the service. */
function publicKeyOfSeed(seedHex: string): string {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32).toString('base64');
}

describe('audit: hash chain, signed checkpoints, audit API, replay (e2e)', () => {
  let stack: Stack;
  let pg: Client;
  let acme: TestOrg;
  let globex: TestOrg;
  let pinned: string;
  let agentId: string;
  let attestation: any;

  beforeAll(async () => {
    stack = await Stack.start({ label: 'audit', env: { KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS: '5', KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS: '1' } });
    pg = new Client({ connectionString: stack.databaseUrl });
    await pg.connect();
    pinned = publicKeyOfSeed(stack.auditSigningKey);

    // A realistic day: two orgs (one live), keys made, rolled and revoked, agents paused, resumed,
    // renamed and revoked, an agent linking itself through the device flow, a self-serve key linked.
    acme = await createOrg(stack, 'Acme');
    globex = await createOrg(stack, 'Globex', { environment: 'live' });
    const agent = await acme.api.post('/v1/agents', { name: 'shopper', metadata: { team: 'ops' } });
    agentId = agent.body.data.id;
    const other = await acme.api.post('/v1/agents', { name: 'doomed' });
    await acme.api.patch(`/v1/agents/${agentId}`, { name: 'shopper-2' });
    await acme.api.post(`/v1/agents/${agentId}/pause`, { duration: '1h' });
    await acme.api.post(`/v1/agents/${agentId}/resume`);
    const bound = await acme.api.post('/v1/api-keys', { name: 'agent key', agent_id: agentId, scopes: ['spend:write', 'audit:read'] });
    expect(bound.status).toBe(201);
    await acme.api.post(`/v1/api-keys/${bound.body.data.id}/roll`, { grace_period_seconds: 60 });
    const spare = await acme.api.post('/v1/api-keys', { name: 'spare', scopes: ['keys:read'] });
    await acme.api.post(`/v1/api-keys/${spare.body.data.id}/revoke`);
    await acme.api.post(`/v1/agents/${other.body.data.id}/revoke`);
    const device = new ApiClient(stack.gatewayUrl());
    const code = await device.post('/v1/auth/device', { agent_name: 'laptop' });
    await acme.api.post('/v1/auth/device/approve', { user_code: code.body.data.user_code });
    const token = await device.post('/v1/auth/device/token', { device_code: code.body.data.device_code });
    expect(token.status).toBe(200);
    const selfServe = await device.post('/v1/api-keys', {});
    expect(selfServe.status).toBe(201);
    await acme.api.post('/v1/api-keys/link', { key: selfServe.body.data.key });
    await globex.api.post('/v1/agents', { name: 'live-bot' });
    const agentKey = acme.api.withKey(bound.body.data.key);
    attestation = await agentKey.post('/v1/attestations', { statement: { purpose: 'buy GPU hours', expected_amount: 1200, merchant: 'gpu.example' } });
    expect(attestation.status).toBe(201);

    // The chainer has caught up and the head is signed.
    await waitFor(
      'chain head signed',
      async () => {
        const res = await acme.api.get('/v1/audit/verify');
        const max = await pg.query('select max(position)::int as p from events');
        return res.body.data?.ok === true && res.body.data.events_pending === 0 && res.body.data.checkpoint?.position === res.body.data.head?.position && res.body.data.head?.position === max.rows[0].p;
      },
      60_000,
      250,
    );
  }, 180_000);

  afterAll(async () => {
    await pg?.end();
    await stack?.stop();
  });

  it('publishes the signing key to pin, and every checkpoint is signed with it', async () => {
    const res = await new ApiClient(stack.gatewayUrl()).get('/v1/audit/public-key');
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ algorithm: 'Ed25519', public_key: pinned, public_key_pem: expect.stringContaining('BEGIN PUBLIC KEY') });
    const verify = await acme.api.get('/v1/audit/verify');
    expect(verify.body.data).toMatchObject({ ok: true, checkpoint: { public_key: pinned, signature: expect.any(String), root: verify.body.data.head.hash } });
    expect(verify.body.data.events_verified).toBeGreaterThan(20);
  });

  it('lists the org’s own events of its environment, with hashes, filtered and paged', async () => {
    const all: any[] = [];
    let after = 0;
    for (;;) {
      const page = await acme.api.get(`/v1/audit/events?after=${after}&limit=5`);
      expect(page.status).toBe(200);
      all.push(...page.body.data.items);
      if (!page.body.data.next_cursor) break;
      after = Number(page.body.data.next_cursor);
    }
    expect(all.length).toBeGreaterThan(10);
    // Pages follow one another in log order: together, the one long listing, nothing skipped or twice.
    expect(new Set(all.map((e) => e.position)).size).toBe(all.length);
    expect(all).toEqual((await acme.api.get('/v1/audit/events?limit=1000')).body.data.items);
    for (const event of all) {
      expect(event).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), prev_hash: expect.stringMatching(/^[0-9a-f]{64}$/), recorded_at: expect.any(String) });
      expect(JSON.stringify(event)).not.toContain('live-bot');
    }
    const revoked = await acme.api.get('/v1/audit/events?type=KeyRevoked');
    expect(revoked.body.data.items.map((e: any) => e.type)).toEqual(expect.arrayContaining(['KeyRevoked']));
    expect(new Set(revoked.body.data.items.map((e: any) => e.type))).toEqual(new Set(['KeyRevoked']));
    const ofAgent = await acme.api.get(`/v1/audit/events?agent_id=${agentId}`);
    expect(ofAgent.body.data.items.map((e: any) => e.type)).toEqual(expect.arrayContaining(['AgentCreated', 'AgentPaused', 'AgentResumed']));
    expectError(await acme.api.get('/v1/audit/events?limit=1001'), 400, 'VALIDATION_ERROR');
    // A list's default page is 20 (API.md, Conventions), and its cursor goes on where `after` would.
    for (let i = 0; i < 25 - all.length; i++) expect((await acme.api.post('/v1/agents', { name: `filler-${i}` })).status).toBe(201);
    let longer: any[] = [];
    // Chained too: an event the chainer has not reached yet is listed with hash null, and would change between the reads below.
    await waitFor(
      '25 events listed and chained',
      async () => (longer = (await acme.api.get('/v1/audit/events?limit=1000')).body.data.items).length >= 25 && longer.every((e) => e.hash !== null),
      20_000,
      100,
    );
    const first = await acme.api.get('/v1/audit/events');
    expect(first.body.data.items).toEqual(longer.slice(0, 20));
    expect(first.body.data.next_cursor).toBe(String(longer[19].position));
    expect((await acme.api.get(`/v1/audit/events?cursor=${first.body.data.next_cursor}&limit=5`)).body.data.items).toEqual(longer.slice(20, 25));
    const both = await acme.api.get(`/v1/audit/events?after=${all[3].position}&cursor=${all[5].position}`);
    expectError(both, 400, 'VALIDATION_ERROR');
    expect(both.body.error.details.fields).toEqual([{ field: 'cursor', message: expect.stringContaining('after') }]);
    // A position that is no event of the org says so, rather than listing from somewhere.
    const [{ p: globexPosition }] = (await pg.query('select max(position)::int as p from events where org_id = $1', [globex.id])).rows;
    for (const position of [all[all.length - 1].position + 1_000_000, globexPosition]) {
      const unknown = await acme.api.get(`/v1/audit/events?after=${position}`);
      expectError(unknown, 400, 'VALIDATION_ERROR');
      expect(unknown.body.error.details.fields).toEqual([{ field: 'after', message: expect.stringContaining('not the position of an event') }]);
      expectError(await acme.api.get(`/v1/audit/events?cursor=${position}`), 400, 'VALIDATION_ERROR');
    }
    expectError(await acme.api.get('/v1/audit/events?agent_id=shopper'), 400, 'VALIDATION_ERROR');
    const spendOnly = await acme.api.post('/v1/api-keys', { scopes: ['spend:read'] });
    expectError(await acme.api.withKey(spendOnly.body.data.key).get('/v1/audit/events'), 403, 'PERMISSION_DENIED');
    // Live and test are apart: Globex's live key sees its own events only.
    const globexEvents = await globex.api.get('/v1/audit/events?limit=1000');
    expect(JSON.stringify(globexEvents.body.data.items)).toContain('live-bot');
    expect(JSON.stringify(globexEvents.body.data.items)).not.toContain('shopper');
  });

  it('exports the org’s events as streamed NDJSON', async () => {
    // The export is the log as committed: an event the chainer has not reached yet is exported with
    // hash and prev_hash null (the test before wrote one). Once every event is chained, the export
    // and a listing taken after it must be the same events, chained alike.
    await waitFor(
      'every event chained',
      async () => {
        const verify = await acme.api.get('/v1/audit/verify');
        return verify.body.data?.ok === true && verify.body.data.events_pending === 0;
      },
      60_000,
      250,
    );
    const res = await fetch(`${stack.gatewayUrl()}/v1/audit/export`, { headers: { 'x-api-key': acme.key } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const lines = (await res.text()).trim().split('\n').map((line) => JSON.parse(line));
    const listed = await acme.api.get('/v1/audit/events?limit=1000');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(line).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), prev_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(lines).toEqual(listed.body.data.items);
    // From a place in the log, and refused (before anything is streamed) where there is no such place.
    const rest = await fetch(`${stack.gatewayUrl()}/v1/audit/export?after=${lines[9].position}`, { headers: { 'x-api-key': acme.key } });
    expect((await rest.text()).trim().split('\n').map((line) => JSON.parse(line))).toEqual(lines.slice(10));
    for (const query of ['after=999999999', 'agent_id=shopper']) {
      const refused = await fetch(`${stack.gatewayUrl()}/v1/audit/export?${query}`, { headers: { 'x-api-key': acme.key } });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    }
  });

  it('an agent-bound key asking for another agent’s events or attestations gets none, never its own', async () => {
    const bystander = (await acme.api.post('/v1/agents', { name: 'bystander-of-filters' })).body.data.id;
    const key = await acme.api.post('/v1/api-keys', { name: 'agent reader', agent_id: agentId, scopes: ['audit:read'] });
    expect(key.status).toBe(201);
    const agentKey = acme.api.withKey(key.body.data.key);

    // The org's key, asking for that agent, gets the agent's events: they are listed, only not the agent key's to see.
    await waitFor('the agent’s creation listed', async () => (await acme.api.get(`/v1/audit/events?agent_id=${bystander}`)).body.data.items.length > 0, 20_000, 100);
    const own = (await agentKey.get(`/v1/audit/events?agent_id=${agentId}&limit=1000`)).body.data.items;
    expect(own.map((e: any) => e.type)).toEqual(expect.arrayContaining(['AgentCreated', 'AttestationRecorded']));
    expect(await agentKey.get(`/v1/audit/events?agent_id=${bystander}`)).toMatchObject({ status: 200, body: { data: { items: [], next_cursor: null } } });
    expect((await agentKey.get(`/v1/attestations?agent_id=${agentId}`)).body.data.items.map((a: any) => a.id)).toContain(attestation.body.data.id);
    expect(await agentKey.get(`/v1/attestations?agent_id=${bystander}`)).toMatchObject({ status: 200, body: { data: { items: [], next_cursor: null } } });
  });

  it('records attestations: what the agent claimed, in the log, listed with its chain hash', async () => {
    expect(attestation.body.data).toMatchObject({
      id: expect.stringMatching(/^att_[0-9A-Za-z]{22}$/),
      agent_id: agentId,
      spend_id: null,
      statement: { purpose: 'buy GPU hours', expected_amount: 1200, merchant: 'gpu.example' },
      mismatches: [],
      position: expect.any(Number),
    });
    const listed = await acme.api.get(`/v1/attestations?agent_id=${agentId}`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.items).toHaveLength(1);
    const event = await pg.query('select encode(c.hash, $2) as hash, e.type from events e left join audit_chain c using (position) where position = $1', [attestation.body.data.position, 'hex']);
    expect(event.rows[0]).toEqual({ type: 'AttestationRecorded', hash: listed.body.data.items[0].hash });
    expect(listed.body.data.items[0]).toMatchObject({ id: attestation.body.data.id, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    expectError(await acme.api.post('/v1/attestations', { statement: { purpose: 'x' } }), 400, 'VALIDATION_ERROR');
    expectError(await acme.api.post('/v1/attestations', { agent_id: 'agt_nope', statement: { purpose: 'x' } }), 404, 'NOT_FOUND');
    expectError(await globex.api.post('/v1/attestations', { agent_id: agentId, statement: { purpose: 'x' } }), 404, 'NOT_FOUND');
    expectError(await acme.api.post('/v1/attestations', { agent_id: agentId, statement: 'free text' }), 400, 'VALIDATION_ERROR');
    expect((await globex.api.get('/v1/attestations')).body.data.items).toEqual([]);
  });

  it('links attestations and spends: intent → decision → spend in the log, and the mismatches where a spend differs from its claim', async () => {
    const [{ position: before }] = (await pg.query('select max(position)::int as position from events where org_id = $1', [acme.id])).rows;
    expect((await acme.api.post('/v1/wallet/deposits', { amount: 100_000, currency: 'usd' })).status).toBe(201);
    expect((await acme.api.put(`/v1/agents/${agentId}/budget`, { currency: 'usd', fixed_limit: 50_000 })).status).toBe(200);
    const claim = { purpose: 'buy GPU hours', expected_amount: 1200, merchant: 'gpu.example' };

    // More than claimed, at another merchant.
    const over = await acme.api.post('/v1/spends', { agent_id: agentId, amount: 1500, currency: 'usd', merchant: 'cloud.example', attestation: claim });
    expect(over.status).toBe(201);
    expect(over.body.data).toMatchObject({ attestation_id: expect.stringMatching(/^att_[0-9A-Za-z]{22}$/), attestation: claim });
    // As claimed (less is no mismatch, the merchant's case does not matter).
    const matching = await acme.api.post('/v1/spends', { agent_id: agentId, amount: 1100, currency: 'usd', merchant: 'GPU.example', attestation: claim });
    expect(matching.status).toBe(201);
    // Declined: the decision names the claim too.
    expectError(await acme.api.post('/v1/spends', { agent_id: agentId, amount: 60_000, currency: 'usd', merchant: 'gpu.example', attestation: claim }), 402, 'BUDGET_EXCEEDED');
    // Attested after the fact: POST /v1/attestations with spend_id compares the claim with the spend as it was made.
    const plain = await acme.api.post('/v1/spends', { agent_id: agentId, amount: 300, currency: 'usd', merchant: 'api.example' });
    expect(plain.body.data.attestation_id).toBeNull();
    const afterwards = await acme.api.post('/v1/attestations', { statement: { purpose: 'API calls', expected_amount: 250, merchant: 'api.example' }, spend_id: plain.body.data.id });
    expect(afterwards.status).toBe(201);
    expect(afterwards.body.data).toMatchObject({ agent_id: agentId, spend_id: plain.body.data.id, mismatches: [{ field: 'amount', claimed: 250, actual: 300 }] });
    const fine = await acme.api.post('/v1/attestations', { agent_id: agentId, statement: { purpose: 'API calls', expected_amount: 300, merchant: 'api.example' }, spend_id: plain.body.data.id });
    expect(fine.body.data).toMatchObject({ spend_id: plain.body.data.id, mismatches: [] });

    // Attest first, then spend under it (attestation_id): one attestation, one spend.
    const intended = await acme.api.post('/v1/attestations', { agent_id: agentId, statement: { purpose: 'a dataset', expected_amount: 400, merchant: 'data.example', licence: 'cc-by' } });
    expect(intended.status).toBe(201);
    const underIt = await acme.api.post('/v1/spends', { agent_id: agentId, amount: 450, currency: 'usd', merchant: 'data.example', attestation_id: intended.body.data.id });
    expect(underIt.status).toBe(201);
    expect(underIt.body.data).toMatchObject({
      attestation_id: intended.body.data.id,
      attestation: { purpose: 'a dataset', expected_amount: 400, merchant: 'data.example', claims: { licence: 'cc-by' } },
    });
    expectError(await acme.api.post('/v1/spends', { agent_id: agentId, amount: 1, currency: 'usd', attestation_id: intended.body.data.id }), 409, 'CONFLICT');
    expectError(await acme.api.post('/v1/spends', { agent_id: agentId, amount: 1, currency: 'usd', attestation: claim, attestation_id: intended.body.data.id }), 400, 'VALIDATION_ERROR');
    expectError(await globex.api.post('/v1/spends', { amount: 1, currency: 'usd', attestation_id: intended.body.data.id }), 404, 'NOT_FOUND');

    const listed = (await acme.api.get(`/v1/attestations?agent_id=${agentId}&limit=100`)).body.data.items;
    const byId = new Map<string, any>(listed.map((a: any) => [a.id, a]));
    expect(byId.get(over.body.data.attestation_id)).toMatchObject({
      agent_id: agentId,
      spend_id: over.body.data.id,
      statement: claim,
      mismatches: [
        { field: 'amount', claimed: 1200, actual: 1500 },
        { field: 'merchant', claimed: 'gpu.example', actual: 'cloud.example' },
      ],
    });
    expect(byId.get(matching.body.data.attestation_id)).toMatchObject({ spend_id: matching.body.data.id, statement: claim, mismatches: [] });
    expect(byId.get(afterwards.body.data.id)).toMatchObject({ spend_id: plain.body.data.id, mismatches: [{ field: 'amount', claimed: 250, actual: 300 }] });
    expect(byId.get(attestation.body.data.id)).toMatchObject({ spend_id: null, mismatches: [] });
    expect(byId.get(intended.body.data.id)).toMatchObject({ spend_id: underIt.body.data.id, mismatches: [{ field: 'amount', claimed: 400, actual: 450 }] });

    // The log, as an auditor reads it: the claim (intent), the decision naming it and saying where the spend differs, the spend.
    // The listing is gap-safe: an event shows once every transaction begun before it has ended, anywhere on the server.
    const [{ position: last }] = (await pg.query('select max(position)::int as position from events where org_id = $1', [acme.id])).rows;
    let log: any[] = [];
    await waitFor(
      'every event of the org listed',
      async () => {
        log = (await acme.api.get(`/v1/audit/events?after=${before}&limit=1000`)).body.data.items;
        return log.some((e) => e.position === last);
      },
      20_000,
      100,
    );
    const intent = log.find((e) => e.type === 'AttestationRecorded' && e.data.attestation_id === over.body.data.attestation_id);
    const decision = log.find((e) => e.type === 'SpendAuthorized' && e.data.spend_id === over.body.data.id);
    const spent = log.find((e) => e.type === 'SpendCaptured' && e.data.spend_id === over.body.data.id);
    expect(intent.data).toMatchObject({ agent_id: agentId, statement: claim, spend_id: null });
    expect(decision.data).toMatchObject({
      attestation_id: over.body.data.attestation_id,
      attestation_mismatches: [
        { field: 'amount', claimed: 1200, actual: 1500 },
        { field: 'merchant', claimed: 'gpu.example', actual: 'cloud.example' },
      ],
    });
    expect(intent.position).toBeLessThan(decision.position);
    expect(decision.position).toBeLessThan(spent.position);
    expect(decision.metadata.request_id).toBe(intent.metadata.request_id);
    expect(log.find((e) => e.type === 'SpendAuthorized' && e.data.spend_id === matching.body.data.id).data).toMatchObject({ attestation_id: matching.body.data.attestation_id, attestation_mismatches: [] });
    const declined = log.find((e) => e.type === 'SpendDeclined' && e.data.amount === 60_000);
    expect(declined.data.attestation_id).toMatch(/^att_/);
    expect(log.find((e) => e.type === 'AttestationRecorded' && e.data.attestation_id === declined.data.attestation_id)).toBeDefined();
    const recordedLater = log.find((e) => e.type === 'AttestationRecorded' && e.data.attestation_id === afterwards.body.data.id);
    expect(log.find((e) => e.type === 'SpendAuthorized' && e.data.spend_id === underIt.body.data.id).data).toMatchObject({
      attestation_id: intended.body.data.id,
      attestation_mismatches: [{ field: 'amount', claimed: 400, actual: 450 }],
    });
    expect(recordedLater.data).toMatchObject({ spend_id: plain.body.data.id, mismatches: [{ field: 'amount', claimed: 250, actual: 300 }] });

    // A spend the caller cannot see is not there; a spend of another agent is not this agent's to attest.
    expectError(await acme.api.post('/v1/attestations', { agent_id: agentId, statement: { purpose: 'x' }, spend_id: `spd_${'0'.repeat(22)}` }), 404, 'NOT_FOUND');
    expectError(await globex.api.post('/v1/attestations', { statement: { purpose: 'x' }, spend_id: plain.body.data.id }), 404, 'NOT_FOUND');
    const otherAgent = (await acme.api.post('/v1/agents', { name: 'bystander' })).body.data.id;
    expectError(await acme.api.post('/v1/attestations', { agent_id: otherAgent, statement: { purpose: 'x' }, spend_id: plain.body.data.id }), 400, 'VALIDATION_ERROR');
  });

  it('the auditor CLI verifies the whole chain against the pinned key', async () => {
    const run = await keyledger(stack, 'audit', 'verify', '--public-key', pinned);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/chain intact: \d+ events verified/);
  });

  it('replay rebuilds every read model from the log and finds no difference; a corrupted row is found, and only it', async () => {
    const clean = await keyledger(stack, 'audit', 'replay');
    expect(clean.stdout).toContain('no difference');
    expect(clean.stdout).toContain('attestations (7)');
    expect(clean.code).toBe(0);

    await pg.query(`update agents set name = 'tampered' where id = $1`, [agentId]);
    const dirty = await keyledger(stack, 'audit', 'replay', '--json');
    expect(dirty.code).toBe(1);
    const report = JSON.parse(dirty.stdout);
    expect(report.differences).toEqual([{ table: 'agents', kind: 'differs', key: { id: agentId }, live: { name: 'tampered' }, replayed: { name: 'shopper-2' } }]);
    const readable = await keyledger(stack, 'audit', 'replay');
    expect(readable.stdout).toContain(`agents {"id":"${agentId}"}: differs`);
    expect(readable.stdout).toContain('name: live "tampered" ≠ replayed "shopper-2"');
    await pg.query(`update agents set name = 'shopper-2' where id = $1`, [agentId]);
  });

  /** Every event a listing with `query` gives, paged to the end: `after` on the first page, `next_cursor` on the next. */
  async function listedToTheEnd(api: ApiClient, query: Record<string, string>, limit = 7): Promise<any[]> {
    const rest = Object.fromEntries(Object.entries(query).filter(([name]) => name !== 'after'));
    const items: any[] = [];
    let page = await api.get(`/v1/audit/events?${new URLSearchParams({ ...query, limit: String(limit) })}`);
    for (;;) {
      expect(page.status).toBe(200);
      items.push(...page.body.data.items);
      const cursor: string | null = page.body.data.next_cursor;
      if (!cursor) return items;
      page = await api.get(`/v1/audit/events?${new URLSearchParams({ ...rest, cursor, limit: String(limit) })}`);
    }
  }

  /** `GET /v1/audit/export` as a client streams it: the response, and each line parsed. */
  async function exported(key: string, query: Record<string, string> = {}): Promise<{ res: Response; lines: any[] }> {
    const res = await fetch(`${stack.gatewayUrl()}/v1/audit/export?${new URLSearchParams(query)}`, { headers: { 'x-api-key': key } });
    const text = await res.text();
    return { res, lines: text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line)) };
  }

  /** Until every event the key lists is chained: a listing and an export taken after that agree, hashes included. */
  async function everyListedEventChained(api: ApiClient): Promise<void> {
    await waitFor('every listed event chained', async () => (await listedToTheEnd(api, {}, 1000)).every((e) => e.hash !== null), 60_000, 250);
  }

  it('verify, export and the attestation list need audit:read, recording an attestation spend:write; the public key needs no key at all', async () => {
    const withScopes = async (scopes: string[]) => {
      const created = await acme.api.post('/v1/api-keys', { name: `only ${scopes.join(' ')}`, scopes });
      expect(created.status).toBe(201);
      return acme.api.withKey(created.body.data.key);
    };
    const noAudit = await withScopes(['spend:write', 'spend:read', 'agents:read']);
    for (const path of ['/v1/audit/verify', '/v1/audit/export', `/v1/audit/export?agent_id=${agentId}`, '/v1/attestations', `/v1/attestations?agent_id=${agentId}`]) {
      const refused = await noAudit.get(path);
      expectError(refused, 403, 'PERMISSION_DENIED');
      expect({ path, details: refused.body.error.details }).toEqual({ path, details: { required_scope: 'audit:read' } });
    }

    const readOnly = await withScopes(['audit:read']);
    const before = (await acme.api.get(`/v1/attestations?agent_id=${agentId}&limit=100`)).body.data.items;
    const refused = await readOnly.post('/v1/attestations', { agent_id: agentId, statement: { purpose: 'not allowed' } });
    expectError(refused, 403, 'PERMISSION_DENIED');
    expect(refused.body.error.details).toEqual({ required_scope: 'spend:write' });
    expect((await acme.api.get(`/v1/attestations?agent_id=${agentId}&limit=100`)).body.data.items).toEqual(before);
    // The same key reads what it may.
    expect((await readOnly.get('/v1/attestations')).status).toBe(200);
    expect((await readOnly.get('/v1/audit/verify')).status).toBe(200);

    const anonymous = await new ApiClient(stack.gatewayUrl()).get('/v1/audit/public-key');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.data.public_key).toBe(pinned);
    expect((await noAudit.get('/v1/audit/public-key')).body.data).toEqual(anonymous.body.data);
  });

  it('one org’s live and test keys never see each other’s events, export or attestations; org-wide events show in both', async () => {
    // createOrg sets the org's plan through the operator API: OrgPlanChanged, an event of the org that names no environment.
    const initech = await createOrg(stack, 'Initech');
    const liveKey = await initech.api.post('/v1/api-keys', { name: 'live', environment: 'live' });
    expect(liveKey.body.data).toMatchObject({ environment: 'live' });
    const sides = {
      test: { api: initech.api, key: initech.key, agent: '', attestation: '', position: 0 },
      live: { api: initech.api.withKey(liveKey.body.data.key), key: liveKey.body.data.key as string, agent: '', attestation: '', position: 0 },
    };
    for (const [environment, side] of Object.entries(sides)) {
      const agent = await side.api.post('/v1/agents', { name: `${environment}-bot` });
      expect(agent.body.data).toMatchObject({ environment });
      const attested = await side.api.post('/v1/attestations', { agent_id: agent.body.data.id, statement: { purpose: `${environment} purchase` } });
      expect(attested.status).toBe(201);
      Object.assign(side, { agent: agent.body.data.id, attestation: attested.body.data.id, position: attested.body.data.position });
    }
    for (const side of Object.values(sides)) {
      await waitFor('the attestation listed', async () => (await listedToTheEnd(side.api, {}, 1000)).some((e) => e.position === side.position), 20_000, 100);
      await everyListedEventChained(side.api);
    }
    const { test, live } = sides;
    const events = { test: await listedToTheEnd(test.api, {}, 1000), live: await listedToTheEnd(live.api, {}, 1000) };

    for (const [own, other] of [
      [test, live],
      [live, test],
    ] as const) {
      const seen = own === test ? events.test : events.live;
      expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['AgentCreated', 'AttestationRecorded', 'OrgPlanChanged']));
      expect(seen.some((e) => e.data.agent_id === own.agent)).toBe(true);
      expect(JSON.stringify(seen)).not.toContain(other.agent);
      expect(JSON.stringify(seen)).not.toContain(other.attestation);
      expect((await own.api.get(`/v1/audit/events?agent_id=${other.agent}`)).body.data.items).toEqual([]);
      expect((await own.api.get('/v1/audit/events?type=AttestationRecorded')).body.data.items.map((e: any) => e.data.attestation_id)).toEqual([own.attestation]);

      const exportedLines = await exported(own.key);
      expect(exportedLines.res.status).toBe(200);
      expect(exportedLines.lines).toEqual(seen);

      expect((await own.api.get('/v1/attestations')).body.data.items.map((a: any) => a.id)).toEqual([own.attestation]);
      expect((await own.api.get(`/v1/attestations?agent_id=${other.agent}`)).body.data.items).toEqual([]);
    }
    // What both see is exactly the org-wide events, alike: here the operator's plan change.
    const common = events.test.filter((e) => events.live.some((l) => l.position === e.position));
    expect(common.map((e) => e.type)).toEqual(['OrgPlanChanged']);
    expect(common[0].metadata).not.toHaveProperty('environment');
    expect(events.live.filter((e) => e.position === common[0].position)).toEqual(common);
  });

  it('the export filtered by after, type and agent_id is the listing with those filters, paged to the end: NDJSON of the documented fields, with the usual headers', async () => {
    await everyListedEventChained(acme.api);
    const all = await listedToTheEnd(acme.api, {}, 1000);
    const middle = all[Math.floor(all.length / 2)].position;
    const firstOfAgent = all.find((e) => e.data.agent_id === agentId).position;
    const cases: { query: Record<string, string>; expected?: any[] }[] = [
      { query: {}, expected: all },
      { query: { after: String(middle) }, expected: all.slice(Math.floor(all.length / 2) + 1) },
      { query: { type: 'AgentUpdated' }, expected: all.filter((e) => e.type === 'AgentUpdated') },
      { query: { type: 'SpendAuthorized' }, expected: all.filter((e) => e.type === 'SpendAuthorized') },
      { query: { agent_id: agentId } },
      { query: { after: String(firstOfAgent), agent_id: agentId, type: 'SpendCaptured' } },
    ];
    for (const { query, expected } of cases) {
      const listed = await listedToTheEnd(acme.api, query, 3);
      if (expected) expect(listed).toEqual(expected);
      expect({ query, some: listed.length > 0 }).toEqual({ query, some: true });
      const { res, lines } = await exported(acme.key, query);
      expect({ query, status: res.status }).toEqual({ query, status: 200 });
      expect({ query, lines }).toEqual({ query, lines: listed });
    }
    expect(await listedToTheEnd(acme.api, { agent_id: agentId }, 3)).not.toEqual(all);

    const listing = await acme.api.get('/v1/audit/events');
    const { res, lines } = await exported(acme.key, { type: 'AgentUpdated' });
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) expect({ name, value: res.headers.get(name) }).toEqual({ name, value: expect.stringMatching(/^\d+$/) });
    expect(res.headers.get('ratelimit-policy')).toBe(listing.headers.get('ratelimit-policy'));
    expect(res.headers.get('ratelimit')).toMatch(/^"read";r=\d+;t=\d+/);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(['data', 'hash', 'metadata', 'position', 'prev_hash', 'recorded_at', 'stream', 'stream_version', 'type']);
      expect(line).toEqual({
        position: expect.any(Number),
        stream: expect.any(String),
        stream_version: expect.any(Number),
        type: 'AgentUpdated',
        data: expect.any(Object),
        metadata: expect.objectContaining({ request_id: expect.stringMatching(/^req_/), actor_key_id: expect.any(String) }),
        recorded_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        prev_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    }
  });

  /** Waits until the chain's head is signed and `GET /v1/audit/verify` has verified up to it. */
  async function headSignedAndVerified(): Promise<void> {
    await waitFor(
      'the head signed and verified',
      async () => {
        const res = await acme.api.get('/v1/audit/verify');
        return res.body.data?.ok === true && res.body.data.events_pending === 0 && res.body.data.checkpoint?.position === res.body.data.head?.position;
      },
      60_000,
      250,
    );
  }

  /** Runs `statement` (with `position` as $1) on events as the table owner would, the append-only trigger off meanwhile. */
  async function tamper(statement: string, position: number): Promise<void> {
    await pg.query('alter table events disable trigger events_no_update_delete');
    try {
      await pg.query(statement, [position]);
    } finally {
      await pg.query('alter table events enable trigger events_no_update_delete');
    }
  }

  it('an event removed after the last verified checkpoint is named by GET /v1/audit/verify; put back, the chain is intact again', async () => {
    // The API verifies from the newest checkpoint it verified before; make that the head now.
    await headSignedAndVerified();
    const witness = (await acme.api.post('/v1/agents', { name: 'witness' })).body.data.id;
    for (const name of ['witness-1', 'witness-2', 'witness-3']) expect((await acme.api.patch(`/v1/agents/${witness}`, { name })).status).toBe(200);
    const renames = (await pg.query(`select position::int as p from events where type = 'AgentUpdated' and data->>'agent_id' = $1 order by transaction_id, position`, [witness])).rows.map((r) => r.p);
    const [, removed, last] = renames;
    // Three positions in a row (nothing else was appended meanwhile): the one gap verify can find is the removed event.
    expect(renames).toEqual([renames[0], renames[0] + 1, renames[0] + 2]);
    await waitFor('the renames chained', async () => (await pg.query('select 1 from audit_chain where position = $1', [last])).rows.length === 1, 60_000, 100);

    await pg.query('create temp table removed_event as select * from events where position = $1', [removed]);
    await tamper('delete from events where position = $1', removed);
    try {
      const res = await acme.api.get('/v1/audit/verify');
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ ok: false, first_bad_position: removed, reason: 'removed' });
    } finally {
      await pg.query('insert into events overriding system value select * from removed_event');
      await pg.query('drop table removed_event');
    }
    expect((await acme.api.get('/v1/audit/verify')).body.data).toMatchObject({ ok: true });
  });

  it('an event altered after the last verified checkpoint is named by GET /v1/audit/verify; the CLI recomputes everything and names the first', async () => {
    // The API verifies from the newest checkpoint it verified before; make that the head now.
    await headSignedAndVerified();
    const renamed = await acme.api.patch(`/v1/agents/${agentId}`, { name: 'shopper-3' });
    expect(renamed.status).toBe(200);
    const [{ p: fresh }] = (await pg.query(`select max(position)::int as p from events where type = 'AgentUpdated'`)).rows;
    await waitFor('the rename chained', async () => (await pg.query('select hash from audit_chain where position = $1', [fresh])).rows.length === 1, 60_000, 100);

    await tamper(`update events set data = jsonb_set(data, '{name}', '"someone else"') where position = $1`, fresh);
    const res = await acme.api.get('/v1/audit/verify');
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ ok: false, first_bad_position: fresh, reason: 'altered' });

    const early = (await pg.query(`select position::int as p from events where type = 'AgentPaused' limit 1`)).rows[0].p;
    await tamper(`update events set data = jsonb_set(data, '{paused_until}', 'null') where position = $1`, early);
    const run = await keyledger(stack, 'audit', 'verify', '--public-key', pinned);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`first bad position ${early}: altered`);
  });
});
