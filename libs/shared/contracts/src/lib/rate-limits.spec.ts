import { DEFAULT_RATE_LIMITS, effectiveRateLimits, planRateLimits } from './rate-limits';

describe('plan rate limits (API.md, Rate limits)', () => {
  it('no plan: the table defaults, no hourly quota', () => {
    expect(planRateLimits(null)).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('a plan raises every class to its per-minute rate, never lowers one, keeps bursts, adds the hourly quota', () => {
    expect(planRateLimits('starter')).toEqual({
      read: { per_minute: 100, burst: 20 },
      write: { per_minute: 60, burst: 10 },
      key_create: { per_minute: 60, burst: 5 },
      per_hour: 500,
    });
    expect(planRateLimits('business')).toMatchObject({ read: { per_minute: 300 }, write: { per_minute: 300 }, per_hour: 10000 });
  });

  it('overrides replace single figures of any plan', () => {
    expect(effectiveRateLimits('growth', { write: { per_minute: 6000, burst: 1000 }, per_hour: 100000 })).toEqual({
      read: { per_minute: 120, burst: 20 },
      write: { per_minute: 6000, burst: 1000 },
      key_create: { per_minute: 120, burst: 5 },
      per_hour: 100000,
    });
    expect(effectiveRateLimits('starter', { read: { burst: 3 } }).read).toEqual({ per_minute: 100, burst: 3 });
    expect(effectiveRateLimits('starter', { per_hour: null }).per_hour).toBeNull();
  });
});
