import { connect, NatsConnection } from 'nats';
import { Client } from 'pg';
import { BudgetSubjects, Subjects } from '@keyledger/contracts';
import { Stack, waitFor } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, TestOrg } from './client';

/** Idempotency-Key on POSTs: one effect however many retries, the same answer replayed. */
describe('idempotency (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;

  beforeAll(async () => {
    // A short claim lease, so a retry may take over the claim of a gateway that died within seconds.
    stack = await Stack.start({ label: 'idempotency', instances: { gateway: 2 }, env: { KEYLEDGER_IDEMPOTENCY_LEASE_SECONDS: '10' } });
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

  describe('a gateway killed after the service committed, before it answered', () => {
    let nats: NatsConnection;

    beforeAll(async () => {
      nats = await connect({ servers: stack.natsUrl });
    });

    afterAll(async () => {
      await nats?.close();
    });

    /**
     * Sends `body` to gateway 0 with `key` and loses the answer after `service` committed. The window
     * is made deterministic with no code path of its own: the service is frozen (SIGSTOP), so gateway
     * 0 claims the key and sends the command but cannot have its answer; once the command is seen on
     * NATS, gateway 0 is frozen too and the service thawed: it commits and replies to a gateway that
     * will never read the reply, and is then killed. Returns what `committed` finds through gateway 1.
     */
    async function loseTheAnswer<T>(service: 'budget-ledger' | 'key-registry', subject: string, path: string, body: object, key: string, committed: () => Promise<T | undefined>): Promise<T> {
      // A plain subscriber gets a copy of the command; the service's queue group gets it too.
      const sub = nats.subscribe(subject);
      const commandSent = (async () => {
        for await (const message of sub) {
          if (message.string().includes(key)) return sub.unsubscribe();
        }
      })();
      await nats.flush();
      const frozenService = stack.process(service);
      frozenService.signal('SIGSTOP');
      let lost: Promise<string>;
      try {
        lost = fetch(`${stack.gatewayUrl(0)}${path}`, {
          method: 'POST',
          headers: { ...acme.api.headers, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(body),
        }).then(
          (r) => `answered ${r.status}`,
          () => 'connection lost',
        );
        await commandSent;
        stack.process('gateway', 0).signal('SIGSTOP');
      } finally {
        frozenService.signal('SIGCONT');
      }
      const found = await waitFor(`${service} to commit`, committed, 30_000, 100);
      await stack.kill('gateway', 0);
      expect(await lost).toBe('connection lost');
      return found;
    }

    /**
     * Retries on gateway 1 until answered, as a client honouring Retry-After does: the dead gateway's
     * claim holds until its lease ends (409 IDEMPOTENCY_IN_PROGRESS, Retry-After: 1); then the retry runs and the service, finding what the
     * key already did, answers that instead of acting again.
     */
    async function retryUntilAnswered(path: string, body: object, key: string) {
      const survivor = acme.api.at(stack.gatewayUrl(1));
      return waitFor(
        'the retry to be answered',
        async () => {
          const res = await survivor.post(path, body, { 'idempotency-key': key });
          // 429: the dead gateway held the org's rate-limit lease, which counts as spent until it ends.
          const wait = (res.status === 409 && res.body.error.code === 'IDEMPOTENCY_IN_PROGRESS') || res.status === 429;
          if (!wait) return res;
          await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000));
          return null;
        },
        60_000,
        0,
      );
    }

    afterEach(async () => {
      if (!stack.process('gateway', 0).running) await stack.restart('gateway', 0);
    });

    it('the retry on another gateway spends once and returns the original spend', async () => {
      const agent = (await acme.api.post('/v1/agents', { name: 'kill-after-commit' })).body.data;
      expect((await acme.api.post('/v1/wallet/deposits', { amount: 10_000, currency: 'usd' })).status).toBe(201);
      expect((await acme.api.put(`/v1/agents/${agent.id}/budget`, { currency: 'usd', fixed_limit: 5_000 })).status).toBe(200);
      const walletBefore = (await acme.api.get('/v1/wallet')).body.data.balances.find((b: { currency: string }) => b.currency === 'usd').available;
      const key = `spend-killed-gateway-${Date.now()}`;
      const body = { agent_id: agent.id, amount: 1_234, currency: 'usd', merchant: 'kill-after-commit' };
      const survivor = acme.api.at(stack.gatewayUrl(1));

      const committed = await loseTheAnswer('budget-ledger', BudgetSubjects.createSpend, '/v1/spends', body, key, async () => (await survivor.get(`/v1/spends?agent_id=${agent.id}`)).body.data.items[0]);
      expect(committed).toMatchObject({ amount: 1_234, status: 'captured', merchant: 'kill-after-commit' });

      const retried = await retryUntilAnswered('/v1/spends', body, key);
      expect(retried.status).toBe(201);
      expect(retried.body.data).toEqual(committed);
      const spends = (await survivor.get(`/v1/spends?agent_id=${agent.id}`)).body.data.items;
      expect(spends.map((s: { id: string }) => s.id)).toEqual([committed.id]);
      const walletAfter = (await survivor.get('/v1/wallet')).body.data.balances.find((b: { currency: string }) => b.currency === 'usd').available;
      expect(walletAfter).toBe(walletBefore - 1_234);
      expect((await survivor.get(`/v1/agents/${agent.id}/budget`)).body.data).toMatchObject({ spent: 1_234, remaining: 5_000 - 1_234 });

      // Its answer is stored now: the next retry is a replay, on the restarted gateway too.
      await stack.restart('gateway', 0);
      for (const api of [survivor, acme.api]) {
        const replay = await api.post('/v1/spends', body, { 'idempotency-key': key });
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(replay.body.data).toEqual(committed);
      }
    });

    it('an attested spend retried after its answer was lost records its claim once, linked to the one spend', async () => {
      const agent = (await acme.api.post('/v1/agents', { name: 'attested-kill-after-commit' })).body.data;
      expect((await acme.api.post('/v1/wallet/deposits', { amount: 10_000, currency: 'usd' })).status).toBe(201);
      expect((await acme.api.put(`/v1/agents/${agent.id}/budget`, { currency: 'usd', fixed_limit: 5_000 })).status).toBe(200);
      const key = `attested-spend-killed-gateway-${Date.now()}`;
      const body = { agent_id: agent.id, amount: 700, currency: 'usd', merchant: 'gpu.example', attestation: { purpose: 'GPU hours', expected_amount: 500, merchant: 'gpu.example' } };
      const survivor = acme.api.at(stack.gatewayUrl(1));

      const committed = await loseTheAnswer('budget-ledger', BudgetSubjects.createSpend, '/v1/spends', body, key, async () => (await survivor.get(`/v1/spends?agent_id=${agent.id}`)).body.data.items[0]);
      expect(committed).toMatchObject({ amount: 700, status: 'captured', attestation_id: expect.stringMatching(/^att_/) });

      const retried = await retryUntilAnswered('/v1/spends', body, key);
      expect(retried.status).toBe(201);
      expect(retried.body.data).toEqual(committed);
      const attestations = (await survivor.get(`/v1/attestations?agent_id=${agent.id}`)).body.data.items;
      expect(attestations).toHaveLength(1);
      expect(attestations[0]).toMatchObject({ id: committed.attestation_id, spend_id: committed.id, mismatches: [{ field: 'amount', claimed: 500, actual: 700 }] });
    });

    it('the retry creates no second agent and returns the one the first request created', async () => {
      const key = `agent-killed-gateway-${Date.now()}`;
      const name = `created-once-${Date.now()}`;
      const survivor = acme.api.at(stack.gatewayUrl(1));
      const named = async () => ((await survivor.get('/v1/agents?limit=100')).body.data.items as { name: string }[]).filter((a) => a.name === name);

      const committed = await loseTheAnswer('key-registry', Subjects.keys.createAgent, '/v1/agents', { name }, key, async () => (await named())[0]);
      const retried = await retryUntilAnswered('/v1/agents', { name }, key);
      expect(retried.status).toBe(201);
      expect(retried.body.data).toEqual(committed);
      expect(await named()).toEqual([committed]);
    });
  });
});
