import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Keyledger } from './client';
import { KeyledgerError } from './errors';

/** A small HTTP server scripted per test: what the SDK does on the wire, observed for real. */
describe('Keyledger SDK client', () => {
  let server: Server;
  let baseUrl: string;
  let seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string; at: number }[];
  let answers: { status: number; headers?: Record<string, string>; body: unknown }[];

  beforeEach(async () => {
    seen = [];
    answers = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, at: Date.now() });
        const answer = answers.shift() ?? { status: 200, body: { success: true, data: {}, request_id: 'req_x' } };
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => new Promise((r) => server.close(r)));

  const ok = (data: unknown) => ({ status: 200, body: { success: true, data, request_id: 'req_ok' } });
  const unavailable = (retryAfter: string) => ({
    status: 503,
    headers: { 'retry-after': retryAfter },
    body: { success: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'down', details: {} }, request_id: 'req_503' },
  });

  it('returns the envelope data and sends the key', async () => {
    answers.push(ok({ environment: 'test' }));
    const client = new Keyledger({ baseUrl, apiKey: 'kl_test_abc' });
    await expect(client.whoami()).resolves.toEqual({ environment: 'test' });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/whoami' });
    expect(seen[0].headers['x-api-key']).toBe('kl_test_abc');
  });

  it('sets one Idempotency-Key per POST and keeps it across its retries, waiting Retry-After', async () => {
    answers.push(unavailable('1'), ok({ id: 'agt_1' }));
    const client = new Keyledger({ baseUrl, apiKey: 'k' });
    await expect(client.agents.create({ name: 'bot' })).resolves.toEqual({ id: 'agt_1' });
    expect(seen).toHaveLength(2);
    const [first, retry] = seen;
    expect(first.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(retry.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
    expect(retry.at - first.at).toBeGreaterThanOrEqual(950);

    await client.agents.create({ name: 'another' });
    expect(seen[2].headers['idempotency-key']).not.toBe(first.headers['idempotency-key']);
    expect(seen.every((s) => s.method !== 'GET' || s.headers['idempotency-key'] === undefined)).toBe(true);
  });

  it('retries 429 and 503 at most maxRetries times, then throws the API error', async () => {
    answers.push(unavailable('0'), unavailable('0'), unavailable('0'));
    const client = new Keyledger({ baseUrl, apiKey: 'k', maxRetries: 2 });
    const error = await client.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyledgerError);
    expect(error).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', requestId: 'req_503' });
    expect(seen).toHaveLength(3);
  });

  it('does not retry business errors', async () => {
    answers.push({ status: 402, body: { success: false, error: { code: 'BUDGET_EXCEEDED', message: 'over', details: { remaining: 0 } }, request_id: 'r' } });
    const client = new Keyledger({ baseUrl, apiKey: 'k' });
    await expect(client.request('POST', '/v1/spends', { amount: 1 })).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED', details: { remaining: 0 } });
    expect(seen).toHaveLength(1);
  });

  it('signs every request with the signing secret over timestamp and raw body', async () => {
    const client = new Keyledger({ baseUrl, apiKey: 'k', signingSecret: 'whsec_test' });
    await client.agents.create({ name: 'signed' });
    const { headers, body } = seen[0];
    const expected = createHmac('sha256', 'whsec_test').update(`${headers['x-timestamp']}.${body}`).digest('hex');
    expect(headers['x-signature']).toBe(expected);
    expect(Math.abs(Number(headers['x-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('backs off exponentially with jitter when the server gives no Retry-After', () => {
    const client = new Keyledger({ baseUrl, maxRetryDelayMs: 1000 });
    for (let attempt = 0; attempt < 8; attempt++) {
      const delay = client.retryDelay(attempt, null);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(Math.min(1000, 250 * 2 ** attempt));
    }
    expect(client.retryDelay(0, '2')).toBe(1000); // capped
    expect(new Keyledger({ baseUrl }).retryDelay(0, '2')).toBe(2000);
  });
});
