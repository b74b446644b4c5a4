import type { BudgetComponentView, Environment, LimitingFactor, SpendAttestationClaim, SpendStatus } from '@keyledger/contracts';
import { assertNever, AttestationMismatch, attestationMismatches, Decider, DomainError } from '@keyledger/domain';
import { AgentUsage, budgetComponents, BudgetPolicy, effectiveBudget, NO_USAGE } from './budget';
import { addDays, utcDay } from './windows';

/** A hold that is neither captured nor released expires this long after it was placed. */
export const HOLD_TTL_DAYS = 7;

/** One wallet: an organization's money in one environment and currency. Everything here is about one. */
export interface WalletRef {
  org_id: string;
  environment: Environment;
  currency: string;
}

export type AgentStatus = { status: 'active' | 'paused' | 'revoked'; paused_until: string | null };

export type LedgerCommand =
  | Readonly<{ type: 'DepositFunds'; data: { wallet: WalletRef; amount: number; now: string } }>
  | Readonly<{ type: 'SetBudget'; data: { wallet: WalletRef; agent_id: string; policy: BudgetPolicy; now: string } }>
  | Readonly<{
      type: 'Spend';
      data: {
        wallet: WalletRef;
        spend_id: string;
        agent_id: string;
        /** The agent as the keys read model has it at decision time (a passed pause already counts as active). */
        agent: AgentStatus;
        amount: number;
        capture: boolean;
        merchant: string | null;
        description: string | null;
        attestation: SpendAttestationClaim | null;
        /** The attestation recording that claim (audit-attestation's `att_…`), when there is a claim. */
        attestation_id: string | null;
        idempotency_key: string | null;
        now: string;
      };
    }>
  | Readonly<{ type: 'CaptureSpend'; data: { spend_id: string; amount: number | null; now: string } }>
  | Readonly<{ type: 'ReleaseHold'; data: { spend_id: string; reason: 'requested' | 'agent_revoked'; now: string } }>
  | Readonly<{ type: 'RefundSpend'; data: { spend_id: string; amount: number | null; now: string } }>
  | Readonly<{ type: 'ExpireHold'; data: { spend_id: string; now: string } }>;

type SpendFacts = WalletRef & { spend_id: string; agent_id: string; day: string };

export type DeclineCode = 'BUDGET_EXCEEDED' | 'INSUFFICIENT_FUNDS' | 'AGENT_PAUSED' | 'AGENT_REVOKED';

export type LedgerEvent =
  | Readonly<{ type: 'FundsDeposited'; data: WalletRef & { amount: number; deposited_at: string } }>
  | Readonly<{ type: 'BudgetSet'; data: WalletRef & BudgetPolicy & { agent_id: string; set_at: string } }>
  | Readonly<{
      type: 'SpendAuthorized';
      data: SpendFacts & {
        amount: number;
        capture: boolean;
        merchant: string | null;
        description: string | null;
        attestation: SpendAttestationClaim | null;
        /** Links the decision to the intent: present when the spend was made under an attestation (absent in older events). */
        attestation_id?: string;
        /** Where the spend differs from the attested claim (amount over expected, another merchant); with `attestation_id`. */
        attestation_mismatches?: AttestationMismatch[];
        idempotency_key: string | null;
        authorized_at: string;
        expires_at: string | null;
      };
    }>
  | Readonly<{ type: 'SpendCaptured'; data: SpendFacts & { amount: number; released_amount: number; captured_at: string } }>
  | Readonly<{ type: 'HoldReleased'; data: SpendFacts & { amount: number; reason: 'requested' | 'agent_revoked'; released_at: string } }>
  | Readonly<{ type: 'HoldExpired'; data: SpendFacts & { amount: number; expired_at: string } }>
  | Readonly<{ type: 'SpendRefunded'; data: SpendFacts & { amount: number; refunded_at: string } }>
  | Readonly<{
      type: 'SpendDeclined';
      data: WalletRef & {
        spend_id: string;
        agent_id: string;
        amount: number;
        capture: boolean;
        code: DeclineCode;
        limiting_factor: LimitingFactor | 'agent_status';
        limit: number | null;
        used: number | null;
        remaining: number | null;
        paused_until?: string | null;
        /** The attestation the declined spend was claimed under, if any. */
        attestation_id?: string;
        idempotency_key: string | null;
        declined_at: string;
      };
    }>;

export interface WalletBalance {
  deposits: number;
  captured: number;
  refunded: number;
  held: number;
}

export interface SpendRecord extends SpendFacts {
  amount: number;
  captured_amount: number;
  refunded_amount: number;
  status: SpendStatus;
  expires_at: string | null;
}

/**
 * The wallet ledger as a decision needs it: the balance, the budgets and usage of the agents that
 * spend from it, and its spends. The service loads only the parts a command touches (one agent, one
 * spend) from the tables its inline projection keeps; a replay of the whole log gives the full state.
 */
export interface LedgerState {
  wallet: WalletBalance;
  budgets: Readonly<Record<string, BudgetPolicy>>;
  usage: Readonly<Record<string, AgentUsage>>;
  spends: Readonly<Record<string, SpendRecord>>;
}

export const EMPTY_WALLET: WalletBalance = { deposits: 0, captured: 0, refunded: 0, held: 0 };

/** `available` = deposits − captured + refunded − held (API.md). */
export function walletAvailable(wallet: WalletBalance): number {
  return wallet.deposits - wallet.captured + wallet.refunded - wallet.held;
}

const walletStreamKey = (w: WalletRef) => `${w.org_id}.${w.environment}.${w.currency}`;
export const walletStream = (w: WalletRef) => `wallet-${walletStreamKey(w)}`;
export const budgetStream = (agentId: string) => `budget-${agentId}`;
/** The lock every decision about one wallet takes, whatever stream it appends to. */
export const walletLockKey = (w: WalletRef) => `wallet-lock:${walletStreamKey(w)}`;

function requireAmount(amount: number, field = 'amount'): number {
  if (!Number.isSafeInteger(amount) || amount < 1) {
    throw new DomainError('VALIDATION_ERROR', `${field} must be a positive safe integer`, { fields: [{ field, message: 'must be a positive safe integer' }] });
  }
  return amount;
}

function requireSpend(state: LedgerState, spendId: string): SpendRecord {
  const spend = state.spends[spendId];
  if (!spend) throw new DomainError('NOT_FOUND', 'no such spend');
  return spend;
}

function requireOpenHold(spend: SpendRecord, now: string): SpendRecord {
  if (spend.status !== 'authorized') {
    throw new DomainError('CONFLICT', `this spend is ${spend.status}; a hold resolves exactly once`, { status: spend.status });
  }
  if (spend.expires_at !== null && spend.expires_at <= now) {
    throw new DomainError('CONFLICT', 'this hold has expired', { status: 'expired' });
  }
  return spend;
}

const factsOf = (s: SpendRecord): SpendFacts => ({
  org_id: s.org_id,
  environment: s.environment,
  currency: s.currency,
  spend_id: s.spend_id,
  agent_id: s.agent_id,
  day: s.day,
});

function decideSpend(command: Extract<LedgerCommand, { type: 'Spend' }>['data'], state: LedgerState): LedgerEvent[] {
  const { wallet, spend_id, agent_id, amount, capture, now } = command;
  requireAmount(amount);
  // The link from the decision back to the claim it was made under (intent → decision → spend).
  const attested = command.attestation !== null && command.attestation_id !== null ? { attestation_id: command.attestation_id } : {};
  const decline = (code: DeclineCode, factor: LimitingFactor | 'agent_status', numbers: Partial<BudgetComponentView> & { paused_until?: string | null }): LedgerEvent[] => [
    {
      type: 'SpendDeclined',
      data: {
        ...wallet,
        spend_id,
        agent_id,
        amount,
        capture,
        code,
        limiting_factor: factor,
        limit: numbers.limit ?? null,
        used: numbers.used ?? null,
        remaining: numbers.remaining ?? null,
        ...(numbers.paused_until !== undefined ? { paused_until: numbers.paused_until } : {}),
        ...attested,
        idempotency_key: command.idempotency_key,
        declined_at: now,
      },
    },
  ];
  if (command.agent.status === 'revoked') return decline('AGENT_REVOKED', 'agent_status', {});
  if (command.agent.status === 'paused') return decline('AGENT_PAUSED', 'agent_status', { paused_until: command.agent.paused_until });

  const policy = state.budgets[agent_id];
  if (!policy || policy.currency !== wallet.currency) return decline('BUDGET_EXCEEDED', 'no_budget', { limit: 0, used: 0, remaining: 0 });
  if (policy.require_attestation && command.attestation === null) {
    throw new DomainError('ATTESTATION_REQUIRED', 'this agent must attest what the spend is for', { field: 'attestation' });
  }

  const available = walletAvailable(state.wallet);
  const components = budgetComponents(policy, state.usage[agent_id] ?? NO_USAGE, available, now, !capture);
  const exceeded = Object.fromEntries(Object.entries(components).filter(([, c]) => amount > c.remaining));
  const walletShort = amount > available;
  if (Object.keys(exceeded).length > 0 || walletShort) {
    const tightest = effectiveBudget(exceeded, walletShort ? available : Number.MAX_SAFE_INTEGER);
    if (tightest.limiting_factor === 'wallet') {
      return decline('INSUFFICIENT_FUNDS', 'wallet', { limit: available, used: 0, remaining: Math.max(0, available) });
    }
    return decline('BUDGET_EXCEEDED', tightest.limiting_factor, components[tightest.limiting_factor] as BudgetComponentView);
  }

  const facts: SpendFacts = { ...wallet, spend_id, agent_id, day: utcDay(now) };
  const authorized: LedgerEvent = {
    type: 'SpendAuthorized',
    data: {
      ...facts,
      amount,
      capture,
      merchant: command.merchant,
      description: command.description,
      attestation: command.attestation,
      ...(command.attestation !== null && command.attestation_id !== null
        ? { attestation_id: command.attestation_id, attestation_mismatches: attestationMismatches(command.attestation, { amount, merchant: command.merchant }) }
        : {}),
      idempotency_key: command.idempotency_key,
      authorized_at: now,
      expires_at: capture ? null : addDays(now, HOLD_TTL_DAYS),
    },
  };
  if (!capture) return [authorized];
  return [authorized, { type: 'SpendCaptured', data: { ...facts, amount, released_amount: 0, captured_at: now } }];
}

function withUsage(state: LedgerState, agentId: string, day: string, change: { committed?: number; held?: number; spent?: number }): LedgerState {
  const usage = state.usage[agentId] ?? NO_USAGE;
  const committed = change.committed ?? 0;
  return {
    ...state,
    usage: {
      ...state.usage,
      [agentId]: {
        by_day: committed === 0 ? usage.by_day : { ...usage.by_day, [day]: (usage.by_day[day] ?? 0) + committed },
        committed: usage.committed + committed,
        held: usage.held + (change.held ?? 0),
        spent: usage.spent + (change.spent ?? 0),
      },
    },
  };
}

function withSpend(state: LedgerState, spendId: string, change: Partial<SpendRecord>): LedgerState {
  const spend = state.spends[spendId];
  // A state loaded for one decision may lack spends it did not need; their changes have nothing to update.
  if (!spend) return state;
  return { ...state, spends: { ...state.spends, [spendId]: { ...spend, ...change } } };
}

function withWallet(state: LedgerState, change: Partial<WalletBalance>): LedgerState {
  const w = state.wallet;
  return {
    ...state,
    wallet: {
      deposits: w.deposits + (change.deposits ?? 0),
      captured: w.captured + (change.captured ?? 0),
      refunded: w.refunded + (change.refunded ?? 0),
      held: w.held + (change.held ?? 0),
    },
  };
}

export const ledgerDecider: Decider<LedgerCommand, LedgerEvent, LedgerState> = {
  initialState: () => ({ wallet: EMPTY_WALLET, budgets: {}, usage: {}, spends: {} }),

  decide(command, state) {
    switch (command.type) {
      case 'DepositFunds': {
        const { wallet, amount, now } = command.data;
        return [{ type: 'FundsDeposited', data: { ...wallet, amount: requireAmount(amount), deposited_at: now } }];
      }
      case 'SetBudget': {
        const { wallet, agent_id, policy, now } = command.data;
        for (const [field, value] of [['fixed_limit', policy.fixed_limit], ['max_position_value', policy.max_position_value]] as const) {
          if (value !== null) requireAmount(value, field);
        }
        policy.limits.forEach((l, i) => requireAmount(l.amount, `limits.${i}.amount`));
        return [{ type: 'BudgetSet', data: { ...wallet, agent_id, ...policy, limits: [...policy.limits], set_at: now } }];
      }
      case 'Spend':
        return decideSpend(command.data, state);
      case 'CaptureSpend': {
        const { spend_id, now } = command.data;
        const hold = requireOpenHold(requireSpend(state, spend_id), now);
        const amount = command.data.amount ?? hold.amount;
        requireAmount(amount);
        if (amount > hold.amount) {
          throw new DomainError('VALIDATION_ERROR', 'cannot capture more than was authorized', {
            fields: [{ field: 'amount', message: `must be at most the authorized ${hold.amount}` }],
          });
        }
        return [{ type: 'SpendCaptured', data: { ...factsOf(hold), amount, released_amount: hold.amount - amount, captured_at: now } }];
      }
      case 'ReleaseHold': {
        const { spend_id, reason, now } = command.data;
        const spend = requireSpend(state, spend_id);
        // Releasing for a revoked agent is a sweep: a hold already resolved is simply left alone.
        if (reason === 'agent_revoked' && spend.status !== 'authorized') return [];
        const hold = reason === 'agent_revoked' ? spend : requireOpenHold(spend, now);
        return [{ type: 'HoldReleased', data: { ...factsOf(hold), amount: hold.amount, reason, released_at: now } }];
      }
      case 'RefundSpend': {
        const { spend_id, now } = command.data;
        const spend = requireSpend(state, spend_id);
        const refundable = spend.captured_amount - spend.refunded_amount;
        if ((spend.status !== 'captured' && spend.status !== 'refunded') || refundable === 0) {
          throw new DomainError('CONFLICT', `this spend is ${spend.status} with nothing left to refund`, { status: spend.status });
        }
        const amount = command.data.amount ?? refundable;
        requireAmount(amount);
        if (amount > refundable) {
          throw new DomainError('VALIDATION_ERROR', 'cannot refund more than was captured', {
            fields: [{ field: 'amount', message: `must be at most the refundable ${refundable}` }],
          });
        }
        return [{ type: 'SpendRefunded', data: { ...factsOf(spend), amount, refunded_at: now } }];
      }
      case 'ExpireHold': {
        const { spend_id, now } = command.data;
        const spend = state.spends[spend_id];
        if (!spend || spend.status !== 'authorized' || spend.expires_at === null || spend.expires_at > now) return [];
        return [{ type: 'HoldExpired', data: { ...factsOf(spend), amount: spend.amount, expired_at: now } }];
      }
      default:
        return assertNever(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'FundsDeposited':
        return withWallet(state, { deposits: event.data.amount });
      case 'BudgetSet': {
        const { currency, fixed_limit, budget_percent, max_position_value, limits, require_attestation } = event.data;
        return { ...state, budgets: { ...state.budgets, [event.data.agent_id]: { currency, fixed_limit, budget_percent, max_position_value, limits, require_attestation } } };
      }
      case 'SpendAuthorized': {
        const d = event.data;
        const record: SpendRecord = {
          org_id: d.org_id,
          environment: d.environment,
          currency: d.currency,
          spend_id: d.spend_id,
          agent_id: d.agent_id,
          day: d.day,
          amount: d.amount,
          captured_amount: 0,
          refunded_amount: 0,
          status: 'authorized',
          expires_at: d.expires_at,
        };
        const next = withUsage(withWallet(state, { held: d.amount }), d.agent_id, d.day, { committed: d.amount, held: d.amount });
        return { ...next, spends: { ...next.spends, [d.spend_id]: record } };
      }
      case 'SpendCaptured': {
        const d = event.data;
        const hold = d.amount + d.released_amount;
        const next = withUsage(withWallet(state, { held: -hold, captured: d.amount }), d.agent_id, d.day, {
          committed: -d.released_amount,
          held: -hold,
          spent: d.amount,
        });
        return withSpend(next, d.spend_id, { status: 'captured', captured_amount: d.amount, expires_at: null });
      }
      case 'HoldReleased':
      case 'HoldExpired': {
        const d = event.data;
        const next = withUsage(withWallet(state, { held: -d.amount }), d.agent_id, d.day, { committed: -d.amount, held: -d.amount });
        return withSpend(next, d.spend_id, { status: event.type === 'HoldReleased' ? 'released' : 'expired' });
      }
      case 'SpendRefunded': {
        const d = event.data;
        const next = withUsage(withWallet(state, { refunded: d.amount }), d.agent_id, d.day, { committed: -d.amount, spent: -d.amount });
        const spend = next.spends[d.spend_id];
        const refunded = (spend?.refunded_amount ?? 0) + d.amount;
        return withSpend(next, d.spend_id, { refunded_amount: refunded, status: spend && refunded >= spend.captured_amount ? 'refunded' : 'captured' });
      }
      case 'SpendDeclined':
        return state;
      default:
        return assertNever(event);
    }
  },
};
