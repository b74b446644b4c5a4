import type { BudgetComponentView, BudgetInterval, LimitingFactor } from '@keyledger/contracts';
import { windowStart } from './windows';

/** What an agent may spend, as the organization set it (`PUT /v1/agents/{id}/budget`). */
export interface BudgetPolicy {
  currency: string;
  fixed_limit: number | null;
  /** Percent of the wallet's available balance, 0–100 with up to 2 decimals. */
  budget_percent: number | null;
  max_position_value: number | null;
  limits: readonly { interval: BudgetInterval; amount: number }[];
  require_attestation: boolean;
}

/** An agent's use of its budget, by the UTC day each spend was authorized on. */
export interface AgentUsage {
  /** Committed per day: open holds plus captured minus refunded, of the spends authorized that day. */
  by_day: Readonly<Record<string, number>>;
  /** Committed over all time (same measure as `by_day`, summed). */
  committed: number;
  /** Open holds (authorized, not yet captured, released or expired). */
  held: number;
  /** Captured minus refunded. */
  spent: number;
}

export const NO_USAGE: AgentUsage = { by_day: {}, committed: 0, held: 0, spent: 0 };

export type BudgetComponents = Partial<Record<LimitingFactor, BudgetComponentView>>;

const component = (limit: number, used: number): BudgetComponentView => ({ limit, used, remaining: Math.max(0, limit - used) });

/** floor(available × percent / 100), exactly: percent has at most 2 decimals, so it is a whole number of basis points. */
export function percentOf(available: number, percent: number): number {
  const basisPoints = BigInt(Math.round(percent * 100));
  return Number((BigInt(Math.max(0, available)) * basisPoints) / 10_000n);
}

function usedSince(usage: AgentUsage, fromDay: string): number {
  let used = 0;
  for (const [day, amount] of Object.entries(usage.by_day)) if (day >= fromDay) used += amount;
  return used;
}

/**
 * Every component of an agent's budget at `now`: its limit, what the agent has used of it and what
 * remains. `max_position_value` caps open holds, so it applies to holds only (`forHold`); GET shows it always.
 */
export function budgetComponents(policy: BudgetPolicy, usage: AgentUsage, walletAvailable: number, now: string, forHold = true): BudgetComponents {
  const components: BudgetComponents = {};
  if (policy.fixed_limit !== null) components.fixed_limit = component(policy.fixed_limit, usage.committed);
  if (policy.budget_percent !== null) components.budget_percent = component(percentOf(walletAvailable, policy.budget_percent), 0);
  if (policy.max_position_value !== null && forHold) components.max_position_value = component(policy.max_position_value, usage.held);
  for (const { interval, amount } of policy.limits) {
    if (interval === 'per_transaction') components.per_transaction = component(amount, 0);
    else if (interval === 'all_time') components.all_time = component(amount, usage.committed);
    else components[interval] = component(amount, usedSince(usage, windowStart(interval, now) as string));
  }
  return components;
}

/** The most restrictive component, or the wallet when it is tighter: ties go to the budget's own component. */
export function effectiveBudget(components: BudgetComponents, walletAvailable: number): { remaining: number; limiting_factor: LimitingFactor } {
  let best: { remaining: number; limiting_factor: LimitingFactor } = { remaining: Math.max(0, walletAvailable), limiting_factor: 'wallet' };
  for (const [factor, c] of Object.entries(components) as [LimitingFactor, BudgetComponentView][]) {
    if (c.remaining <= best.remaining) best = { remaining: c.remaining, limiting_factor: factor };
  }
  return best;
}
