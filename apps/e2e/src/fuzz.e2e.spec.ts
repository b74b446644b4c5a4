import fc from 'fast-check';
import { Stack } from '@keyledger/testing';
import { createOrg, TestOrg } from './client';

/**
 * Property-based fuzz of the public API: random bodies, headers and query strings against every
 * route. Whatever arrives, the answer is never a 500, always the envelope, always with the request id.
 */
describe('API fuzz (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;
  let routes: [string, string][];

  beforeAll(async () => {
    stack = await Stack.start({ label: 'fuzz', env: { LOG_LEVEL: 'warn' } });
    acme = await createOrg(stack, 'Fuzz Co');
    const agent = (await acme.api.post('/v1/agents', { name: 'target' })).body.data.id;
    const key = (await acme.api.post('/v1/api-keys', { name: 'target' })).body.data.id;
    routes = [
      ['POST', '/v1/orgs'],
      ['POST', '/v1/api-keys'],
      ['GET', '/v1/api-keys'],
      ['POST', '/v1/api-keys/link'],
      ['GET', `/v1/api-keys/${key}`],
      ['PATCH', `/v1/api-keys/${key}`],
      ['POST', `/v1/api-keys/${key}/roll`],
      ['GET', '/v1/whoami'],
      ['POST', '/v1/agents'],
      ['GET', '/v1/agents'],
      ['GET', `/v1/agents/${agent}`],
      ['PATCH', `/v1/agents/${agent}`],
      ['POST', `/v1/agents/${agent}/pause`],
      ['POST', `/v1/agents/${agent}/resume`],
      ['POST', '/v1/auth/device'],
      ['POST', '/v1/auth/device/approve'],
      ['POST', '/v1/auth/device/deny'],
      ['POST', '/v1/auth/device/token'],
      ['GET', '/v1/no-such-route'],
      ['PUT', '/v1/whoami'],
    ];
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const json = fc.jsonValue({ maxDepth: 3 });
  const fieldNames = fc.constantFrom('name', 'scopes', 'environment', 'agent_id', 'expires_at', 'signing', 'key', 'duration', 'metadata', 'user_code', 'device_code', 'agent_name', 'grace_period_seconds', 'plan', '__proto__', 'constructor');
  const body = fc.oneof(
    fc.dictionary(fieldNames, json, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
    json.map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.constant('{"name": "unterminated'),
    fc.constant(''),
  );
  const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', undefined);
  const query = fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'agent_id', 'environment', 'x'), fc.string({ maxLength: 20 }), { maxKeys: 3 });
  const auth = fc.constantFrom('valid', 'none', 'garbage', 'operator');

  it('never answers 500 and always in the envelope', async () => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 10_000 }), body, contentType, query, auth, fc.option(fc.string({ maxLength: 300 })), async (pick, payload, type, q, who, idempotency) => {
        const [method, path] = routes[pick % routes.length];
        const headers: Record<string, string> = {};
        if (type && method !== 'GET') headers['content-type'] = type;
        if (who === 'valid') headers['x-api-key'] = acme.key;
        if (who === 'garbage') headers['x-api-key'] = 'kl_test_' + 'x'.repeat(46);
        if (who === 'operator') headers['authorization'] = `Bearer ${stack.operatorToken}`;
        if (idempotency !== null) headers['idempotency-key'] = idempotency;
        const qs = new URLSearchParams(q).toString();
        const res = await fetch(`${stack.gatewayUrl()}${path}${qs ? `?${qs}` : ''}`, {
          method,
          headers,
          body: method === 'GET' ? undefined : payload,
        });
        const text = await res.text();
        let envelope: any;
        try {
          envelope = JSON.parse(text);
        } catch {
          envelope = null;
        }
        const requestId = res.headers.get('x-request-id');
        const ok =
          res.status < 500 &&
          envelope !== null &&
          typeof envelope.success === 'boolean' &&
          envelope.request_id === requestId &&
          /^req_/.test(requestId ?? '') &&
          (envelope.success ? 'data' in envelope : typeof envelope.error?.code === 'string' && typeof envelope.error?.message === 'string');
        if (!ok) failures.push(`${method} ${path}?${qs} [${type}] ${JSON.stringify(payload).slice(0, 120)} → ${res.status} ${text.slice(0, 200)}`);
        return ok;
      }),
      { numRuns: 400, seed: Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31) },
    );
    expect(failures).toEqual([]);
  });
});
