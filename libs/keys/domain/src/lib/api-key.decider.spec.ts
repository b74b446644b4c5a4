import { apiKeyDecider, KeyDescription } from './api-key.decider';

const key: KeyDescription = {
  key_id: 'key_1',
  org_id: 'org_1',
  name: 'default',
  key_hash: 'ab'.repeat(32),
  key_prefix: 'kl_test_',
  last4: 'WXYZ',
  environment: 'test',
  scopes: ['*'],
  agent_id: null,
  expires_at: null,
  signing: false,
  claimed: true,
  rolled_from: null,
};
const now = '2026-11-22T10:00:00.000Z';

describe('api key decider', () => {
  it('given no key, when CreateKey, then KeyCreated stamped with the command time', () => {
    expect(apiKeyDecider.decide({ type: 'CreateKey', data: { ...key, now } }, apiKeyDecider.initialState())).toEqual([
      { type: 'KeyCreated', data: { ...key, created_at: now } },
    ]);
  });

  it('rejects an expiry in the past and a key without scopes', () => {
    const state = apiKeyDecider.initialState();
    expect(() =>
      apiKeyDecider.decide({ type: 'CreateKey', data: { ...key, expires_at: '2026-01-01T00:00:00.000Z', now } }, state),
    ).toThrow('expires_at must be in the future');
    expect(() => apiKeyDecider.decide({ type: 'CreateKey', data: { ...key, scopes: [], now } }, state)).toThrow(
      'at least one scope',
    );
  });

  it('given a created key, when CreateKey with the same id, then CONFLICT', () => {
    const state = apiKeyDecider.evolve(apiKeyDecider.initialState(), { type: 'KeyCreated', data: { ...key, created_at: now } });
    expect(() => apiKeyDecider.decide({ type: 'CreateKey', data: { ...key, now } }, state)).toThrow('exists');
  });
});

describe('api key lifecycle', () => {
  const created = { type: 'KeyCreated' as const, data: { ...key, expires_at: '2026-11-25T00:00:00.000Z', created_at: now } };
  const state = apiKeyDecider.evolve(apiKeyDecider.initialState(), created);

  it('rolls: the old key ends after the grace period, never later than its own expiry', () => {
    expect(apiKeyDecider.decide({ type: 'RollKey', data: { new_key_id: 'key_2', grace_period_seconds: 3600, now } }, state)).toEqual([
      { type: 'KeyRolled', data: { key_id: 'key_1', new_key_id: 'key_2', expires_at: '2026-11-22T11:00:00.000Z', rolled_at: now } },
    ]);
    const [late] = apiKeyDecider.decide({ type: 'RollKey', data: { new_key_id: 'key_2', grace_period_seconds: 604_800, now } }, state);
    expect(late.data).toMatchObject({ expires_at: '2026-11-25T00:00:00.000Z' });
  });

  it('revokes once: revoking again records nothing', () => {
    const [revoked] = apiKeyDecider.decide({ type: 'RevokeKey', data: { reason: 'requested', now } }, state);
    expect(revoked.type).toBe('KeyRevoked');
    expect(apiKeyDecider.decide({ type: 'RevokeKey', data: { reason: 'requested', now } }, apiKeyDecider.evolve(state, revoked))).toEqual([]);
  });

  it('links only an unclaimed key', () => {
    expect(() => apiKeyDecider.decide({ type: 'LinkKey', data: { to_org_id: 'org_2', now } }, state)).toThrow('already claimed');
    const unclaimed = apiKeyDecider.evolve(apiKeyDecider.initialState(), { ...created, data: { ...created.data, claimed: false } });
    const [linked] = apiKeyDecider.decide({ type: 'LinkKey', data: { to_org_id: 'org_2', now } }, unclaimed);
    expect(apiKeyDecider.evolve(unclaimed, linked)).toMatchObject({ org_id: 'org_2', claimed: true });
  });
});
