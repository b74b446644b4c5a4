import { generateSecretsKey } from '@keyledger/secrets';
import { StoredAnswers } from './idempotency.interceptor';

describe('StoredAnswers', () => {
  const withKey = (value: string | undefined, make: () => StoredAnswers) => {
    const before = process.env['KEYLEDGER_SECRETS_KEY'];
    if (value === undefined) delete process.env['KEYLEDGER_SECRETS_KEY'];
    else process.env['KEYLEDGER_SECRETS_KEY'] = value;
    try {
      return make();
    } finally {
      if (before === undefined) delete process.env['KEYLEDGER_SECRETS_KEY'];
      else process.env['KEYLEDGER_SECRETS_KEY'] = before;
    }
  };
  const withSecret = JSON.stringify({ data: { id: 'key_1', key: 'kl_test_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH', scopes: ['*'] } });
  const spend = JSON.stringify({ data: { id: 'spd_1', amount: 1, currency: 'usd', status: 'captured' } });

  it('seals an answer that shows a secret, and opens it back as it was', () => {
    const answers = withKey(generateSecretsKey(), () => new StoredAnswers());
    const stored = answers.close(withSecret);
    expect(stored).toMatch(/^sealed:/);
    expect(stored).not.toContain('kl_test_');
    expect(answers.open(stored)).toBe(withSecret);
  });

  it('without a secrets key, blanks the secret instead', () => {
    const answers = withKey(undefined, () => new StoredAnswers());
    const stored = answers.close(withSecret);
    expect(stored).not.toContain('kl_test_');
    expect(JSON.parse(answers.open(stored)).data).toEqual({ id: 'key_1', key: null, scopes: ['*'] });
  });

  it('stores an answer without a secret as it was sent', () => {
    const answers = withKey(generateSecretsKey(), () => new StoredAnswers());
    expect(answers.close(spend)).toBe(spend);
    expect(answers.open(answers.close(spend))).toBe(spend);
  });
});
