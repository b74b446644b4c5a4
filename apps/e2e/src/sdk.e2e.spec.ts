import { Keyledger, KeyledgerError } from '@keyledger/sdk';
import { Stack } from '@keyledger/testing';

/** The published SDK against the real stack, as an application would use it. */
describe('TypeScript SDK (e2e)', () => {
  let stack: Stack;
  let admin: Keyledger;
  let adminKey: string;

  beforeAll(async () => {
    stack = await Stack.start({ label: 'sdk', env: { KEYLEDGER_RPC_TIMEOUT_MS: '1000', KEYLEDGER_BREAKER_RESET_MS: '1000' } });
    const operator = new Keyledger({ baseUrl: stack.gatewayUrl(), operatorToken: stack.operatorToken });
    const { api_key } = await operator.orgs.create({ name: 'SDK Co' });
    adminKey = api_key.key;
    admin = new Keyledger({ baseUrl: stack.gatewayUrl(), apiKey: adminKey });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('manages keys and agents, and reports API errors with their code', async () => {
    const agent = await admin.agents.create({ name: 'sdk-bot', metadata: { lang: 'ts' } });
    expect(agent).toMatchObject({ name: 'sdk-bot', status: 'active' });
    const key = await admin.apiKeys.create({ agent_id: agent.id, scopes: ['agents:read'] });
    const asAgent = new Keyledger({ baseUrl: stack.gatewayUrl(), apiKey: key.key });
    expect((await asAgent.whoami()).agent?.id).toBe(agent.id);

    await admin.agents.pause(agent.id, '15m');
    const paused = await asAgent.whoami().catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(KeyledgerError);
    expect(paused).toMatchObject({ status: 403, code: 'AGENT_PAUSED' });
    await admin.agents.resume(agent.id);

    const { api_key: rolled } = await admin.apiKeys.roll(key.id, { grace_period_seconds: 0 });
    await expect(asAgent.whoami()).rejects.toMatchObject({ code: 'KEY_EXPIRED' });
    await expect(new Keyledger({ baseUrl: stack.gatewayUrl(), apiKey: rolled.key }).whoami()).resolves.toMatchObject({ agent: { id: agent.id } });
    const listed = await admin.apiKeys.list({ agent_id: agent.id });
    expect(listed.items.map((k) => k.id).sort()).toEqual([key.id, rolled.id].sort());
  });

  it('signs requests for a signing key', async () => {
    const signer = await admin.apiKeys.create({ signing: true, scopes: ['agents:write', 'agents:read'] });
    const signed = new Keyledger({ baseUrl: stack.gatewayUrl(), apiKey: signer.key, signingSecret: signer.signing_secret });
    await expect(signed.agents.create({ name: 'signed-bot' })).resolves.toMatchObject({ name: 'signed-bot' });
    const unsigned = new Keyledger({ baseUrl: stack.gatewayUrl(), apiKey: signer.key });
    await expect(unsigned.agents.list()).rejects.toMatchObject({ code: 'SIGNATURE_INVALID', details: { reason: 'missing' } });
  });

  it('rides out a service outage: retries 503 after Retry-After, with one effect', async () => {
    await stack.kill('key-registry');
    const restarted = new Promise<void>((resolve) => setTimeout(() => void stack.restart('key-registry').then(resolve), 1500));
    const client = new Keyledger({ baseUrl: stack.gatewayUrl(), apiKey: adminKey, maxRetries: 8, maxRetryDelayMs: 2000 });
    const agent = await client.agents.create({ name: 'outage-survivor' });
    await restarted;
    expect(agent.name).toBe('outage-survivor');
    const all = await admin.agents.list({ limit: 100 });
    expect(all.items.filter((a) => a.name === 'outage-survivor')).toHaveLength(1);
  });
});

