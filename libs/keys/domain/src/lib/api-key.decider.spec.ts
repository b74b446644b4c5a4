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
  signing_secret_sealed: null,
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
