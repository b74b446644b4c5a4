import type { Plan } from './resources';

export type OperationClass = 'read' | 'write' | 'key_create';
export const OPERATION_CLASSES: readonly OperationClass[] = ['read', 'write', 'key_create'];

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

/** `overrides` of `PUT /v1/orgs/{id}/plan`: each figure given replaces the plan's one. */
export interface RateLimitOverrides {
  read?: Partial<ClassLimit>;
  write?: Partial<ClassLimit>;
  key_create?: Partial<ClassLimit>;
  per_hour?: number | null;
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

/**
 * The limits a plan gives before overrides. A plan "raises the per-minute rate": each class runs at
 * the plan's rate unless its default is already higher (starter keeps reads at 100/min); bursts stay.
 * `enterprise` is custom: the defaults, without an hourly quota, until overrides say otherwise.
 */
export function planRateLimits(plan: Plan | null): RateLimits {
  if (plan === null || plan === 'enterprise') return DEFAULT_RATE_LIMITS;
  const { per_minute, per_hour } = PLAN_FIGURES[plan];
  const raised = (limit: ClassLimit): ClassLimit => ({ ...limit, per_minute: Math.max(per_minute, limit.per_minute) });
  return {
    read: raised(DEFAULT_RATE_LIMITS.read),
    write: raised(DEFAULT_RATE_LIMITS.write),
    key_create: raised(DEFAULT_RATE_LIMITS.key_create),
    per_hour,
  };
}

/** An org's effective limits: its plan's, with each overridden figure replaced. */
export function effectiveRateLimits(plan: Plan | null, overrides: RateLimitOverrides | null | undefined): RateLimits {
  const base = planRateLimits(plan);
  if (!overrides) return base;
  return {
    read: { ...base.read, ...overrides.read },
    write: { ...base.write, ...overrides.write },
    key_create: { ...base.key_create, ...overrides.key_create },
    per_hour: overrides.per_hour !== undefined ? overrides.per_hour : base.per_hour,
  };
}
