import { checkSignature, signRequest } from './request-signature';

describe('request signatures', () => {
  const secret = 'whsec_test';
  const now = 1_800_000_000;
  const body = '{"amount":5}';
  const good = signRequest(secret, String(now), body);

  it('accepts a fresh, correct signature over timestamp and raw body', () => {
    expect(checkSignature(secret, { timestamp: String(now), signature: good }, body, now)).toBeNull();
    expect(checkSignature(secret, { timestamp: String(now - 300), signature: signRequest(secret, String(now - 300), '') }, '', now)).toBeNull();
  });

  it.each([
    ['missing timestamp', { signature: good }, body, 'missing'],
    ['missing signature', { timestamp: String(now) }, body, 'missing'],
    ['a timestamp over 300 s old', { timestamp: String(now - 301), signature: signRequest(secret, String(now - 301), body) }, body, 'stale'],
    ['a timestamp from the future', { timestamp: String(now + 301), signature: signRequest(secret, String(now + 301), body) }, body, 'stale'],
    ['a non-numeric timestamp', { timestamp: 'soon', signature: good }, body, 'stale'],
    ['another body', { timestamp: String(now), signature: good }, '{"amount":500}', 'mismatch'],
    ['another secret', { timestamp: String(now), signature: signRequest('whsec_other', String(now), body) }, body, 'mismatch'],
    ['uppercase hex', { timestamp: String(now), signature: good.toUpperCase() }, body, 'mismatch'],
    ['a truncated signature', { timestamp: String(now), signature: good.slice(0, 10) }, body, 'mismatch'],
  ])('rejects %s', (_label, headers, rawBody, problem) => {
    expect(checkSignature(secret, headers, rawBody, now)).toBe(problem);
  });
});
