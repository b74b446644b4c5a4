import { Stack } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, TestOrg } from './client';

/** Two gateway instances: revocation is instant on both, and tenants never see each other. */
describe('revocation across gateways and tenant isolation (e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;
  let other: TestOrg;

  beforeAll(async () => {
    stack = await Stack.start({ label: 'revocation', instances: { gateway: 2 } });
    acme = await createOrg(stack, 'Acme');
    other = await createOrg(stack, 'Other Co');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('a key revoked through one gateway is rejected by the other as soon as the call returns (100 cycles)', async () => {
    const viaFirst = acme.api;
    const second = new ApiClient(stack.gatewayUrl(1));
    let acceptedAfterRevoke = 0;
    let cachedBeforeRevoke = 0;
    for (let i = 0; i < 100; i++) {
      const key = (await viaFirst.post('/v1/api-keys', { name: `cycle ${i}` })).body.data;
      // Use it on the second gateway first, so that gateway has it in its cache.
      if ((await second.withKey(key.key).get('/v1/whoami')).status === 200) cachedBeforeRevoke++;
      const revoked = await viaFirst.post(`/v1/api-keys/${key.id}/revoke`);
      expect(revoked.status).toBe(200);
      const after = await second.withKey(key.key).get('/v1/whoami');
      if (after.status !== 401 || after.body.error.code !== 'KEY_REVOKED') acceptedAfterRevoke++;
    }
    expect(cachedBeforeRevoke).toBe(100);
    expect(acceptedAfterRevoke).toBe(0);
  });

  it('an agent pause through one gateway stops its keys on the other at once', async () => {
    const agent = (await acme.api.post('/v1/agents', { name: 'paused elsewhere' })).body.data;
    const key = (await acme.api.post('/v1/api-keys', { agent_id: agent.id, scopes: ['agents:read'] })).body.data.key;
    const second = new ApiClient(stack.gatewayUrl(1), { 'x-api-key': key });
    expect((await second.get('/v1/whoami')).status).toBe(200);
    await acme.api.post(`/v1/agents/${agent.id}/pause`, { duration: '30m' });
    expectError(await second.get('/v1/whoami'), 403, 'AGENT_PAUSED');
  });

  it("answers 404 to another org's key on every route of a resource, and to the other environment", async () => {
    const agent = (await acme.api.post('/v1/agents', { name: 'private' })).body.data;
    const key = (await acme.api.post('/v1/api-keys', { name: 'private' })).body.data;
    const live = await createOrg(stack, 'Acme live', { environment: 'live' });
    const liveOfAcme = (await acme.api.post('/v1/api-keys', { environment: 'live' })).body.data;
    expect(liveOfAcme.environment).toBe('live');

    const attempts: [string, string, unknown?][] = [
      ['GET', `/v1/api-keys/${key.id}`],
      ['PATCH', `/v1/api-keys/${key.id}`, { name: 'mine now' }],
      ['POST', `/v1/api-keys/${key.id}/revoke`],
      ['DELETE', `/v1/api-keys/${key.id}`],
      ['POST', `/v1/api-keys/${key.id}/roll`, {}],
      ['GET', `/v1/agents/${agent.id}`],
      ['PATCH', `/v1/agents/${agent.id}`, { name: 'mine now' }],
      ['POST', `/v1/agents/${agent.id}/pause`, { duration: '15m' }],
      ['POST', `/v1/agents/${agent.id}/resume`],
      ['POST', `/v1/agents/${agent.id}/revoke`],
      ['POST', '/v1/api-keys', { agent_id: agent.id }],
    ];
    for (const intruder of [other.api, live.api, acme.api.withKey(liveOfAcme.key)]) {
      for (const [method, path, body] of attempts) {
        const res =
          method === 'GET'
            ? await intruder.get(path)
            : method === 'PATCH'
              ? await intruder.patch(path, body)
              : method === 'DELETE'
                ? await intruder.delete(path)
                : await intruder.post(path, body);
        expect({ method, path, status: res.status, code: res.body.error?.code }).toEqual({ method, path, status: 404, code: 'NOT_FOUND' });
      }
      const list = await intruder.get('/v1/api-keys?limit=100');
      expect(list.body.data.items.map((k: { id: string }) => k.id)).not.toContain(key.id);
      const agents = await intruder.get('/v1/agents?limit=100');
      expect(agents.body.data.items.map((a: { id: string }) => a.id)).not.toContain(agent.id);
    }
    // Untouched by all of that.
    expect((await acme.api.get(`/v1/agents/${agent.id}`)).body.data).toMatchObject({ name: 'private', status: 'active' });
    expect((await acme.api.get(`/v1/api-keys/${key.id}`)).body.data).toMatchObject({ name: 'private', status: 'active' });
  });
});
