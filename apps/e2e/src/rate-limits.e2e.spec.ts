import { Stack } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, operatorClient, TestOrg } from './client';
import { HttpResult } from './http';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = (results: HttpResult[], status: number) => results.filter((r) => r.status === status).length;
/** Checks a gateway decided itself, under a counter lease, from its /metrics. */
const leaseDecisions = (metrics: string) => Number(/^keyledger_rate_limit_check_seconds_count\{decided_by="lease"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);

/**
 * Rate limits as a client meets them, on two gateways and two rate-limiter instances. Small limits
 * come from plan overrides set through the operator API, as an operator would set them.
 */
describe('rate limits (e2e)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'ratelimit',
      instances: { gateway: 2, 'rate-limiter': 2 },
      env: { KEYLEDGER_RATE_LIMIT_PER_IP: 'write=6:3,key_create=6:3', KEYLEDGER_BREAKER_RESET_MS: '1000' },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function orgWithLimits(name: string, overrides: Record<string, unknown>, plan: string | null = null): Promise<TestOrg> {
    const org = await createOrg(stack, name, { rateLimits: 'plan' });
    const res = await operatorClient(stack).put(`/v1/orgs/${org.id}/plan`, { plan, overrides });
    expect(res.status).toBe(200);
    return org;
  }

  it('N concurrent requests admit exactly the burst; after 1/rate seconds exactly one more', async () => {
    const org = await orgWithLimits('Burst', { read: { per_minute: 30, burst: 5 } });
    const second = org.api.at(stack.gatewayUrl(1));
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? second : org.api).get('/v1/whoami')));
    expect({ ok: count(burst, 200), limited: count(burst, 429) }).toEqual({ ok: 5, limited: 15 });

    await sleep(2000); // one token every 2 s at 30/min
    const refill = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? second : org.api).get('/v1/whoami')));
    expect({ ok: count(refill, 200), limited: count(refill, 429) }).toEqual({ ok: 1, limited: 5 });
  });

  it('429 RATE_LIMITED carries an honest Retry-After and details; waiting that long is admitted', async () => {
    const org = await orgWithLimits('Retry', { read: { per_minute: 20, burst: 2 } });
    expect((await org.api.get('/v1/whoami')).status).toBe(200);
    expect((await org.api.get('/v1/whoami')).status).toBe(200);
    const denied = await org.api.get('/v1/whoami');
    expectError(denied, 429, 'RATE_LIMITED');
    const retryAfter = Number(denied.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
    expect(denied.body.error.details).toMatchObject({ retry_after: retryAfter, limit: 2 });
    expect(denied.headers.get('x-ratelimit-remaining')).toBe('0');

    await sleep(retryAfter * 1000);
    expect((await org.api.at(stack.gatewayUrl(1)).get('/v1/whoami')).status).toBe(200);
  });

  it('every answer to an identified caller carries X-RateLimit-* and the IETF RateLimit headers', async () => {
    const org = await orgWithLimits('Headers', { write: { per_minute: 30, burst: 10 }, key_create: { per_minute: 10, burst: 5 } }, 'starter');
    const before = Math.floor(Date.now() / 1000);
    const created = await org.api.post('/v1/api-keys', { name: 'counted twice' });
    expect(created.status).toBe(201);
    // A key creation is a write and a key_create; key_create (4 of 5 left) is the most constrained.
    expect(created.headers.get('x-ratelimit-limit')).toBe('5');
    expect(created.headers.get('x-ratelimit-remaining')).toBe('4');
    const reset = Number(created.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(before + 6);
    expect(reset).toBeLessThanOrEqual(before + 8);
    expect(created.headers.get('ratelimit-policy')).toBe('"write";q=10;w=20, "key_create";q=5;w=30, "hourly";q=500;w=3600');
    expect(created.headers.get('ratelimit')).toMatch(/^"write";r=9;t=2, "key_create";r=4;t=6, "hourly";r=499;t=\d+$/);
    // Errors after the limiter admitted the request carry them too.
    const missing = await org.api.get('/v1/api-keys/key_doesnotexist');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-ratelimit-limit')).not.toBeNull();
  });

  it('two gateways and two rate-limiter instances admit exactly what the bucket allows (300 concurrent writes)', async () => {
    // One token a minute: over the few seconds of the test nothing refills, so exactly the burst passes.
    const org = await orgWithLimits('Exact', { write: { per_minute: 1, burst: 100 } });
    const gateways = [org.api, org.api.at(stack.gatewayUrl(1))];
    // An admitted write then fails validation in the gateway (no name): what is measured is the limiter alone.
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => gateways[i % 2].post('/v1/agents', {})));
    expect({ admitted: count(results, 400), limited: count(results, 429) }).toEqual({ admitted: 100, limited: 200 });
    // Reads are a class of their own: still admitted.
    expect((await gateways[1].get('/v1/whoami')).status).toBe(200);
  });

  it('a gateway alone on an org decides under a lease; a recalled lease gives back what it did not use', async () => {
    // 40 reads in turns of ten against a bucket of 30 that refills one token a minute.
    const org = await orgWithLimits('Turns', { read: { per_minute: 1, burst: 30 } });
    const gateways = [org.api, org.api.at(stack.gatewayUrl(1))];
    const leased = async () => Promise.all([0, 1].map(async (i) => leaseDecisions(await (await fetch(`${stack.gatewayUrl(i)}/metrics`)).text())));
    const before = await leased();
    const results: HttpResult[] = [];
    const turn = async (gateway: number) => {
      for (let i = 0; i < 10; i++) results.push(await gateways[gateway].get('/v1/whoami'));
    };
    await turn(0); // the first user of the org gets its lease at once
    await turn(1); // ...which the owner recalls when the second gateway asks
    await sleep(1200); // alone for over a second: gateway 1 may hold it now
    await turn(1);
    await turn(0); // recalled again
    const after = await leased();

    expect(results.map((r) => r.status)).toEqual([...Array(30).fill(200), ...Array(10).fill(429)]);
    // Remaining counts down through every hand-over: each gateway saw the one global bucket.
    expect(results.map((r) => r.headers.get('x-ratelimit-remaining'))).toEqual([...Array.from({ length: 30 }, (_, i) => String(29 - i)), ...Array(10).fill('0')]);
    // Both gateways decided turns of their own under a lease (the first check of each turn asks).
    expect(after[0] - before[0]).toBeGreaterThanOrEqual(9);
    expect(after[1] - before[1]).toBeGreaterThanOrEqual(9);
  });

  it('a lease whose gateway dies counts as spent: the other gateway is refused, with an honest Retry-After', async () => {
    const org = await orgWithLimits('Lost lease', { read: { per_minute: 60, burst: 5 } });
    const second = org.api.at(stack.gatewayUrl(1));
    expect((await org.api.get('/v1/whoami')).headers.get('x-ratelimit-remaining')).toBe('4'); // gateway 0 holds the lease
    await stack.kill('gateway', 0);
    // The owner cannot recall it, waits out the lease, and counts its 4 tokens as used: never more than allowed.
    const refused = await second.get('/v1/whoami');
    expectError(refused, 429, 'RATE_LIMITED');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBe(1); // one token a second
    await sleep(retryAfter * 1000);
    expect((await second.get('/v1/whoami')).status).toBe(200);
    await stack.restart('gateway', 0);
  });

  it('the hourly quota of a plan, with overrides, takes effect after a plan change without restart', async () => {
    const org = await orgWithLimits('Quota', {});
    const operator = operatorClient(stack, 1);
    const changed = await operator.put(`/v1/orgs/${org.id}/plan`, { plan: 'starter', overrides: { per_hour: 4 } });
    expect(changed.body.data).toMatchObject({ id: org.id, plan: 'starter', overrides: { per_hour: 4 } });

    const whoami = await org.api.get('/v1/whoami');
    expect(whoami.body.data.rate_limits).toEqual({
      read: { per_minute: 100, burst: 20 },
      write: { per_minute: 60, burst: 10 },
      key_create: { per_minute: 60, burst: 5 },
      per_hour: 4,
    });
    const second = org.api.at(stack.gatewayUrl(1));
    const rest = [await second.get('/v1/whoami'), await org.api.post('/v1/agents', { name: 'quota' }), await second.get('/v1/whoami')];
    expect(rest.map((r) => r.status)).toEqual([200, 201, 200]);
    const over = await second.get('/v1/whoami');
    expectError(over, 429, 'RATE_LIMITED');
    expect(over.body.error.details).toMatchObject({ limit: 4, limit_name: 'hourly' });

    await operator.put(`/v1/orgs/${org.id}/plan`, { plan: 'starter', overrides: { per_hour: 6 } });
    const after = await Promise.all([org.api.get('/v1/whoami'), second.get('/v1/whoami'), org.api.get('/v1/whoami')]);
    expect(after.map((r) => r.status).sort()).toEqual([200, 200, 429]);
  });

  it('limits unauthenticated routes per client IP', async () => {
    const device = new ApiClient(stack.gatewayUrl(0));
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => device.at(stack.gatewayUrl(i % 2)).post('/v1/auth/device', { agent_name: `robot ${i}` })),
    );
    expect({ ok: count(results, 200), limited: count(results, 429) }).toEqual({ ok: 3, limited: 3 });
  });

  it('rejects a bad plan change and an unknown org', async () => {
    const operator = operatorClient(stack);
    const org = await createOrg(stack, 'Bad plan', { rateLimits: 'plan' });
    expectError(await operator.put(`/v1/orgs/${org.id}/plan`, { plan: 'platinum' }), 400, 'VALIDATION_ERROR');
    expectError(await operator.put(`/v1/orgs/${org.id}/plan`, { plan: 'growth', overrides: { write: { per_minute: 0 } } }), 400, 'VALIDATION_ERROR');
    expectError(await operator.put(`/v1/orgs/org_doesnotexist/plan`, { plan: 'growth' }), 404, 'NOT_FOUND');
    expectError(await org.api.put(`/v1/orgs/${org.id}/plan`, { plan: 'enterprise' }), 401, 'UNAUTHORIZED');
  });

  it('losing one of two rate-limiter instances does not stop traffic: the survivor takes its orgs over', async () => {
    const orgs = await Promise.all(Array.from({ length: 8 }, (_, i) => createOrg(stack, `Survivor ${i}`, { rateLimits: 'plan' })));
    await stack.kill('rate-limiter', 0);
    // Writes fail closed, so any check that found no limiter would answer 503; admitted ones fail validation (400).
    const results = await Promise.all(orgs.map((org, i) => org.api.at(stack.gatewayUrl(i % 2)).post('/v1/agents', {})));
    expect(results.map((r) => r.status)).toEqual(orgs.map(() => 400));
    expect(results.every((r) => r.headers.get('x-ratelimit-limit') !== null)).toBe(true);
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(2000);
    await stack.restart('rate-limiter', 0);
  });

  it('with the rate limiter down, answers per the fail mode within 2 s, and recovers by itself', async () => {
    const org = await createOrg(stack, 'Outage', { rateLimits: 'plan' });
    await stack.kill('rate-limiter', 0);
    await stack.kill('rate-limiter', 1);

    const read = await org.api.get('/v1/whoami'); // read=open by default
    expect(read.status).toBe(200);
    expect(read.ms).toBeLessThan(2000);
    expect(read.headers.get('x-ratelimit-limit')).toBeNull();
    const write = await org.api.post('/v1/agents', { name: 'not now' }); // write=closed by default
    expectError(write, 503, 'SERVICE_UNAVAILABLE');
    expect(write.ms).toBeLessThan(2000);
    const ready = await new ApiClient(stack.gatewayUrl(0)).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.details.checks['rate-limiter']).toMatchObject({ ok: false, fail_mode: { read: 'open', write: 'closed', key_create: 'closed' } });

    await stack.restart('rate-limiter', 0);
    await stack.restart('rate-limiter', 1);
    let status = 0;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && status !== 201) {
      status = (await org.api.post('/v1/agents', { name: 'back' })).status;
      if (status !== 201) await sleep(250);
    }
    expect(status).toBe(201);
  });
});
