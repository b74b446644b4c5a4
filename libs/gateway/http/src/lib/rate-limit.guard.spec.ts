import { rateLimitHeaders } from './rate-limit.guard';

describe('rate-limit headers', () => {
  const now = Date.UTC(2026, 10, 22, 10, 0, 0);

  it('X-RateLimit-* describe the most constrained limit; RateLimit-Policy and RateLimit list every limit as structured fields', () => {
    const headers = rateLimitHeaders(
      [
        { name: 'write', limit: 10, remaining: 9, full_in_ms: 2000, window_seconds: 20 },
        { name: 'key_create', limit: 5, remaining: 4, full_in_ms: 6000, window_seconds: 30 },
        { name: 'hourly', limit: 500, remaining: 499, full_in_ms: 1_740_500, window_seconds: 3600 },
      ],
      now,
    );
    expect(headers).toEqual({
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': String(now / 1000 + 6),
      'ratelimit-policy': '"write";q=10;w=20, "key_create";q=5;w=30, "hourly";q=500;w=3600',
      ratelimit: '"write";r=9;t=2, "key_create";r=4;t=6, "hourly";r=499;t=1741',
    });
  });

  it('of limits equally low, the one full last wins, and reset rounds up to whole seconds', () => {
    const headers = rateLimitHeaders(
      [
        { name: 'read', limit: 20, remaining: 0, full_in_ms: 11_500, window_seconds: 12 },
        { name: 'hourly', limit: 100, remaining: 0, full_in_ms: 900_001, window_seconds: 3600 },
      ],
      now,
    );
    expect(headers['x-ratelimit-limit']).toBe('100');
    expect(headers['x-ratelimit-reset']).toBe(String(now / 1000 + 901));
  });
});
