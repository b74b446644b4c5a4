import fc from 'fast-check';
import { BudgetPolicy, budgetComponents, NO_USAGE } from './budget';
import { LedgerCommand, ledgerDecider, LedgerEvent, LedgerState, walletAvailable, WalletRef } from './ledger.decider';
import { addDays } from './windows';

const wallet: WalletRef = { org_id: 'org_1', environment: 'test', currency: 'usd' };
const AGENTS = ['agt_a', 'agt_b'];
const START = '2026-11-23T00:00:00.000Z';

type Step =
  | { kind: 'deposit'; amount: number }
  | { kind: 'budget'; agent: number; policy: BudgetPolicy }
  | { kind: 'spend'; agent: number; amount: number; capture: boolean }
  | { kind: 'capture'; pick: number; amount: number | null }
  | { kind: 'release'; pick: number }
  | { kind: 'refund'; pick: number; amount: number | null }
  | { kind: 'revoke'; agent: number }
  | { kind: 'clock'; hours: number };

const amount = fc.integer({ min: 1, max: 200 });
const policy: fc.Arbitrary<BudgetPolicy> = fc.record({
  currency: fc.constant('usd'),
  fixed_limit: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
  budget_percent: fc.option(fc.integer({ min: 0, max: 10000 }).map((bp) => bp / 100), { nil: null }),
  max_position_value: fc.option(fc.integer({ min: 1, max: 500 }), { nil: null }),
  limits: fc.uniqueArray(
    fc.record({ interval: fc.constantFrom('per_transaction', 'daily', 'weekly', 'monthly', 'all_time' as const), amount: fc.integer({ min: 1, max: 600 }) }),
    { selector: (l) => l.interval, maxLength: 5 },
  ),
  require_attestation: fc.constant(false),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('deposit' as const), amount: fc.integer({ min: 1, max: 500 }) }),
  fc.record({ kind: fc.constant('budget' as const), agent: fc.nat(1), policy }),
  { arbitrary: fc.record({ kind: fc.constant('spend' as const), agent: fc.nat(1), amount, capture: fc.boolean() }), weight: 4 },
  fc.record({ kind: fc.constant('capture' as const), pick: fc.nat(), amount: fc.option(amount, { nil: null }) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('refund' as const), pick: fc.nat(), amount: fc.option(amount, { nil: null }) }),
  fc.record({ kind: fc.constant('revoke' as const), agent: fc.nat(1) }),
  fc.record({ kind: fc.constant('clock' as const), hours: fc.integer({ min: 1, max: 24 * 10 }) }),
);

/** What the agents' statuses are, outside the ledger (the keys service owns them). */
function run(steps: Step[]) {
  let state = ledgerDecider.initialState();
  let now = START;
  let n = 0;
  const revoked = new Set<string>();
  const resolutions = new Map<string, number>();
  const apply = (events: readonly LedgerEvent[]) => {
    for (const e of events) {
      if (e.type === 'SpendCaptured' || e.type === 'HoldReleased' || e.type === 'HoldExpired') {
        resolutions.set(e.data.spend_id, (resolutions.get(e.data.spend_id) ?? 0) + 1);
      }
      state = ledgerDecider.evolve(state, e);
    }
  };
  const tryDecide = (command: LedgerCommand) => {
    try {
      return ledgerDecider.decide(command, state);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'CONFLICT' || code === 'VALIDATION_ERROR') return [];
      throw error;
    }
  };
  const spendIds = () => Object.keys(state.spends).sort();
  for (const s of steps) {
    // The expiry processor runs before every step, as a sweep with the clock it is given.
    for (const id of spendIds()) apply(tryDecide({ type: 'ExpireHold', data: { spend_id: id, now } }));
    checkInvariants(state);
    switch (s.kind) {
      case 'deposit':
        apply(tryDecide({ type: 'DepositFunds', data: { wallet, amount: s.amount, now } }));
        break;
      case 'budget':
        apply(tryDecide({ type: 'SetBudget', data: { wallet, agent_id: AGENTS[s.agent], policy: s.policy, now } }));
        break;
      case 'spend': {
        const agentId = AGENTS[s.agent];
        const before = state;
        const events = tryDecide({
          type: 'Spend',
          data: {
            wallet,
            spend_id: `spd_${++n}`,
            agent_id: agentId,
            agent: { status: revoked.has(agentId) ? 'revoked' : 'active', paused_until: null },
            amount: s.amount,
            capture: s.capture,
            merchant: null,
            description: null,
            attestation: null,
            attestation_id: null,
            idempotency_key: null,
            now,
          },
        });
        apply(events);
        if (events[0]?.type === 'SpendAuthorized') checkAccepted(before, state, agentId, s.amount, s.capture, now);
        break;
      }
      case 'capture': {
        const ids = spendIds();
        if (ids.length) apply(tryDecide({ type: 'CaptureSpend', data: { spend_id: ids[s.pick % ids.length], amount: s.amount, now } }));
        break;
      }
      case 'release': {
        const ids = spendIds();
        if (ids.length) apply(tryDecide({ type: 'ReleaseHold', data: { spend_id: ids[s.pick % ids.length], reason: 'requested', now } }));
        break;
      }
      case 'refund': {
        const ids = spendIds();
        if (ids.length) apply(tryDecide({ type: 'RefundSpend', data: { spend_id: ids[s.pick % ids.length], amount: s.amount, now } }));
        break;
      }
      case 'revoke': {
        const agentId = AGENTS[s.agent];
        revoked.add(agentId);
        for (const id of spendIds()) {
          if (state.spends[id].agent_id === agentId) apply(tryDecide({ type: 'ReleaseHold', data: { spend_id: id, reason: 'agent_revoked', now } }));
        }
        break;
      }
      case 'clock':
        now = addDays(now, s.hours / 24);
        break;
    }
    checkInvariants(state);
  }
  for (const count of resolutions.values()) expect(count).toBeLessThanOrEqual(1);
  for (const agentId of revoked) {
    expect(Object.values(state.spends).filter((sp) => sp.agent_id === agentId && sp.status === 'authorized')).toEqual([]);
  }
}

function checkInvariants(state: LedgerState) {
  expect(walletAvailable(state.wallet)).toBeGreaterThanOrEqual(0);
  const open = Object.values(state.spends).filter((s) => s.status === 'authorized');
  expect(state.wallet.held).toBe(open.reduce((sum, s) => sum + s.amount, 0));
  for (const agentId of AGENTS) {
    const usage = state.usage[agentId] ?? NO_USAGE;
    expect(usage.held).toBe(open.filter((s) => s.agent_id === agentId).reduce((sum, s) => sum + s.amount, 0));
    expect(usage.held).toBeGreaterThanOrEqual(0);
    expect(usage.spent).toBeGreaterThanOrEqual(0);
  }
  for (const s of Object.values(state.spends)) {
    expect(s.refunded_amount).toBeLessThanOrEqual(s.captured_amount);
    expect(s.captured_amount).toBeLessThanOrEqual(s.amount);
  }
}

/** Right after an accepted spend, no component of the agent's budget is over its limit. */
function checkAccepted(before: LedgerState, after: LedgerState, agentId: string, amount: number, capture: boolean, now: string) {
  const policy = after.budgets[agentId];
  expect(policy).toBeDefined();
  const usage = after.usage[agentId];
  const components = budgetComponents(policy, usage, walletAvailable(before.wallet), now, !capture);
  for (const [factor, c] of Object.entries(components)) {
    if (factor === 'per_transaction' || factor === 'budget_percent') expect(amount).toBeLessThanOrEqual(c.limit);
    else expect({ factor, used: c.used }).toEqual({ factor, used: Math.min(c.used, c.limit) });
  }
}

describe('ledger invariants (property)', () => {
  it('for any sequence of deposits, budget changes, spends, captures, releases, refunds and clock moves', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => run(steps)), { numRuns: 300 });
  });
});
