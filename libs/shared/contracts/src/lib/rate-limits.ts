import type { Plan } from './resources';

export type OperationClass = 'read' | 'write' | 'key_create';

export interface ClassLimit {
  per_minute: number;
  burst: number;
}

export interface RateLimits {
  read: ClassLimit;
  write: ClassLimit;
  key_create: ClassLimit;
  per_hour: number | null;
}

/** API.md's defaults: an org with no plan. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  read: { per_minute: 100, burst: 20 },
  write: { per_minute: 30, burst: 10 },
  key_create: { per_minute: 10, burst: 5 },
  per_hour: null,
};

const PLAN_FIGURES: Record<Exclude<Plan, 'enterprise'>, { per_minute: number; per_hour: number }> = {
  starter: { per_minute: 60, per_hour: 500 },
  growth: { per_minute: 120, per_hour: 2000 },
  business: { per_minute: 300, per_hour: 10000 },
};

/** The limits an org's plan gives (overrides applied later by the rate limiter). */
export function planRateLimits(plan: Plan | null): RateLimits {
  if (plan === null || plan === 'enterprise') return DEFAULT_RATE_LIMITS;
  const { per_minute, per_hour } = PLAN_FIGURES[plan];
  return {
    read: { ...DEFAULT_RATE_LIMITS.read, per_minute: Math.max(per_minute, DEFAULT_RATE_LIMITS.read.per_minute) },
    write: { ...DEFAULT_RATE_LIMITS.write, per_minute },
    key_create: DEFAULT_RATE_LIMITS.key_create,
    per_hour,
  };
}
