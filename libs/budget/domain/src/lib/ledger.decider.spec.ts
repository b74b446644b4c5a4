import { replayState } from '@keyledger/domain';
import { BudgetPolicy } from './budget';
import { LedgerCommand, ledgerDecider, LedgerEvent, walletAvailable, WalletRef } from './ledger.decider';

const wallet: WalletRef = { org_id: 'org_1', environment: 'test', currency: 'usd' };
const now = '2026-11-25T10:00:00.000Z'; // a Wednesday
const policy = (p: Partial<BudgetPolicy> = {}): BudgetPolicy => ({
  currency: 'usd',
  fixed_limit: null,
  budget_percent: null,
  max_position_value: null,
  limits: [],
  require_attestation: false,
  ...p,
});
const deposited = (amount: number): LedgerEvent => ({ type: 'FundsDeposited', data: { ...wallet, amount, deposited_at: now } });
const budgetSet = (p: Partial<BudgetPolicy>, agent_id = 'agt_1'): LedgerEvent => ({
  type: 'BudgetSet',
  data: { ...wallet, agent_id, ...policy(p), set_at: now },
});
const spend = (amount: number, extra: Partial<Extract<LedgerCommand, { type: 'Spend' }>['data']> = {}): LedgerCommand => ({
  type: 'Spend',
  data: {
    wallet,
    spend_id: 'spd_1',
    agent_id: 'agt_1',
    agent: { status: 'active', paused_until: null },
    amount,
    capture: true,
    merchant: null,
    description: null,
    attestation: null,
    attestation_id: null,
    idempotency_key: null,
    now,
    ...extra,
  },
});
const given = (...events: LedgerEvent[]) => replayState(ledgerDecider, events);
/** Runs commands one after the other, folding their events: the state after `when`. */
function after(events: LedgerEvent[], ...commands: LedgerCommand[]) {
  let state = given(...events);
  for (const c of commands) for (const e of ledgerDecider.decide(c, state)) state = ledgerDecider.evolve(state, e);
  return state;
}
const declineOf = (events: readonly LedgerEvent[]) => (events[0].type === 'SpendDeclined' ? events[0].data : null);

describe('ledger decider', () => {
  it('declines an agent with no budget, as an event naming no_budget', () => {
    const events = ledgerDecider.decide(spend(5), given(deposited(100)));
    expect(declineOf(events)).toMatchObject({ code: 'BUDGET_EXCEEDED', limiting_factor: 'no_budget', limit: 0, used: 0, remaining: 0 });
  });

  it('spends at once with capture true: authorized then captured, and the wallet drops', () => {
    const state = given(deposited(100), budgetSet({ fixed_limit: 50 }));
    const events = ledgerDecider.decide(spend(20), state);
    expect(events.map((e) => e.type)).toEqual(['SpendAuthorized', 'SpendCaptured']);
    const next = events.reduce(ledgerDecider.evolve, state);
    expect(walletAvailable(next.wallet)).toBe(80);
    expect(next.wallet.held).toBe(0);
    expect(next.spends['spd_1']).toMatchObject({ status: 'captured', captured_amount: 20 });
  });

  it('names the tightest component when a spend is over budget', () => {
    const state = given(deposited(1000), budgetSet({ fixed_limit: 100, limits: [{ interval: 'daily', amount: 30 }] }), );
    const spent = after([deposited(1000), budgetSet({ fixed_limit: 100, limits: [{ interval: 'daily', amount: 30 }] })], spend(25));
    expect(declineOf(ledgerDecider.decide(spend(10, { spend_id: 'spd_2' }), spent))).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      limiting_factor: 'daily',
      limit: 30,
      used: 25,
      remaining: 5,
    });
    expect(state.wallet.deposits).toBe(1000);
  });

  it('says INSUFFICIENT_FUNDS when the wallet is tighter than the budget', () => {
    const events = ledgerDecider.decide(spend(60), given(deposited(50), budgetSet({ fixed_limit: 100 })));
    expect(declineOf(events)).toMatchObject({ code: 'INSUFFICIENT_FUNDS', limiting_factor: 'wallet', remaining: 50 });
  });

  it('windows are fixed in UTC: yesterday does not count today, last week does not count this week', () => {
    const events = [deposited(1000), budgetSet({ limits: [{ interval: 'daily', amount: 10 }, { interval: 'weekly', amount: 15 }] })];
    const monday = after(events, spend(10, { now: '2026-11-23T23:59:59.999Z' }));
    expect(ledgerDecider.decide(spend(5, { spend_id: 'spd_2', now: '2026-11-24T00:00:00.000Z' }), monday)[0].type).toBe('SpendAuthorized');
    expect(declineOf(ledgerDecider.decide(spend(6, { spend_id: 'spd_2', now: '2026-11-24T00:00:00.000Z' }), monday))).toMatchObject({
      limiting_factor: 'weekly',
      used: 10,
    });
    const sunday = after(events, spend(10, { now: '2026-11-22T23:00:00.000Z' }));
    expect(ledgerDecider.decide(spend(10, { spend_id: 'spd_2', now: '2026-11-23T00:00:00.000Z' }), sunday)[0].type).toBe('SpendAuthorized');
  });

  it('caps open holds with max_position_value, but not immediate spends', () => {
    const events = [deposited(1000), budgetSet({ max_position_value: 10 })];
    const held = after(events, spend(8, { capture: false }));
    expect(declineOf(ledgerDecider.decide(spend(5, { spend_id: 'spd_2', capture: false }), held))).toMatchObject({
      limiting_factor: 'max_position_value',
      used: 8,
      remaining: 2,
    });
    expect(ledgerDecider.decide(spend(5, { spend_id: 'spd_2', capture: true }), held)[0].type).toBe('SpendAuthorized');
  });

  it('budget_percent is a share of what the wallet has available', () => {
    const state = given(deposited(1000), budgetSet({ budget_percent: 12.5 }));
    expect(declineOf(ledgerDecider.decide(spend(126), state))).toMatchObject({ limiting_factor: 'budget_percent', limit: 125 });
    expect(ledgerDecider.decide(spend(125), state)[0].type).toBe('SpendAuthorized');
  });

  it('per_transaction caps one spend', () => {
    const state = given(deposited(1000), budgetSet({ limits: [{ interval: 'per_transaction', amount: 5 }] }));
    expect(declineOf(ledgerDecider.decide(spend(6), state))).toMatchObject({ limiting_factor: 'per_transaction', limit: 5 });
  });

  it('a paused or revoked agent is declined', () => {
    const state = given(deposited(100), budgetSet({ fixed_limit: 50 }));
    expect(declineOf(ledgerDecider.decide(spend(1, { agent: { status: 'paused', paused_until: now } }), state))).toMatchObject({
      code: 'AGENT_PAUSED',
      paused_until: now,
    });
    expect(declineOf(ledgerDecider.decide(spend(1, { agent: { status: 'revoked', paused_until: null } }), state))).toMatchObject({ code: 'AGENT_REVOKED' });
  });

  it('requires an attestation when the budget says so', () => {
    const state = given(deposited(100), budgetSet({ fixed_limit: 50, require_attestation: true }));
    expect(() => ledgerDecider.decide(spend(1), state)).toThrow(expect.objectContaining({ code: 'ATTESTATION_REQUIRED' }) as unknown as Error);
    expect(ledgerDecider.decide(spend(1, { attestation: { purpose: 'api call' } }), state)[0].type).toBe('SpendAuthorized');
  });

  it('links a spend to the attestation it was claimed under and records where it differs from the claim', () => {
    const state = given(deposited(100), budgetSet({ fixed_limit: 50 }));
    const claim = { purpose: 'buy GPU hours', expected_amount: 20, merchant: 'gpu.example' };
    const [over] = ledgerDecider.decide(spend(30, { merchant: 'cloud.example', attestation: claim, attestation_id: 'att_1' }), state);
    expect(over).toMatchObject({
      type: 'SpendAuthorized',
      data: {
        attestation_id: 'att_1',
        attestation_mismatches: [
          { field: 'amount', claimed: 20, actual: 30 },
          { field: 'merchant', claimed: 'gpu.example', actual: 'cloud.example' },
        ],
      },
    });
    const [matching] = ledgerDecider.decide(spend(20, { merchant: 'gpu.example', attestation: claim, attestation_id: 'att_2' }), state);
    expect(matching.data).toMatchObject({ attestation_id: 'att_2', attestation_mismatches: [] });
    const [declined] = ledgerDecider.decide(spend(80, { attestation: claim, attestation_id: 'att_3' }), state);
    expect(declined).toMatchObject({ type: 'SpendDeclined', data: { attestation_id: 'att_3' } });
    const [plain] = ledgerDecider.decide(spend(10), state);
    expect(plain.data).not.toHaveProperty('attestation_id');
  });

  describe('holds', () => {
    const setup = [deposited(100), budgetSet({ fixed_limit: 50 })];
    const hold = spend(30, { capture: false });

    it('a hold counts against the budget and the wallet until it resolves', () => {
      const state = after(setup, hold);
      expect(state.wallet.held).toBe(30);
      expect(walletAvailable(state.wallet)).toBe(70);
      expect(state.spends['spd_1'].expires_at).toBe('2026-12-02T10:00:00.000Z');
      expect(declineOf(ledgerDecider.decide(spend(21, { spend_id: 'spd_2' }), state))).toMatchObject({ limiting_factor: 'fixed_limit', used: 30 });
    });

    it('a partial capture releases the rest, to the wallet and to the budget', () => {
      const state = after(setup, hold, { type: 'CaptureSpend', data: { spend_id: 'spd_1', amount: 10, now } });
      expect(state.wallet).toEqual({ deposits: 100, captured: 10, refunded: 0, held: 0 });
      expect(state.usage['agt_1']).toMatchObject({ committed: 10, held: 0, spent: 10 });
    });

    it('resolves exactly once: a second capture or release is a CONFLICT', () => {
      const captured = after(setup, hold, { type: 'CaptureSpend', data: { spend_id: 'spd_1', amount: null, now } });
      const released = after(setup, hold, { type: 'ReleaseHold', data: { spend_id: 'spd_1', reason: 'requested', now } });
      for (const state of [captured, released]) {
        for (const c of [
          { type: 'CaptureSpend', data: { spend_id: 'spd_1', amount: null, now } },
          { type: 'ReleaseHold', data: { spend_id: 'spd_1', reason: 'requested', now } },
        ] as const) {
          expect(() => ledgerDecider.decide(c, state)).toThrow(expect.objectContaining({ code: 'CONFLICT' }) as unknown as Error);
        }
      }
      expect(ledgerDecider.decide({ type: 'ReleaseHold', data: { spend_id: 'spd_1', reason: 'agent_revoked', now } }, released)).toEqual([]);
    });

    it('cannot capture more than authorized', () => {
      expect(() => ledgerDecider.decide({ type: 'CaptureSpend', data: { spend_id: 'spd_1', amount: 31, now } }, after(setup, hold))).toThrow(
        expect.objectContaining({ code: 'VALIDATION_ERROR' }) as unknown as Error,
      );
    });

    it('expires after 7 days, not before; an expired hold cannot be captured', () => {
      const state = after(setup, hold);
      expect(ledgerDecider.decide({ type: 'ExpireHold', data: { spend_id: 'spd_1', now: '2026-12-02T09:59:59.999Z' } }, state)).toEqual([]);
      const expired = after(setup, hold, { type: 'ExpireHold', data: { spend_id: 'spd_1', now: '2026-12-02T10:00:00.000Z' } });
      expect(expired.spends['spd_1'].status).toBe('expired');
      expect(expired.wallet.held).toBe(0);
      expect(() =>
        ledgerDecider.decide({ type: 'CaptureSpend', data: { spend_id: 'spd_1', amount: null, now: '2026-12-02T10:00:00.000Z' } }, state),
      ).toThrow(expect.objectContaining({ code: 'CONFLICT' }) as unknown as Error);
    });
  });

  it('refunds, fully or in parts, give back to the wallet and to the budget window the spend counted in', () => {
    const setup = [deposited(100), budgetSet({ limits: [{ interval: 'daily', amount: 40 }] })];
    const partly = after(setup, spend(40), { type: 'RefundSpend', data: { spend_id: 'spd_1', amount: 15, now } });
    expect(partly.spends['spd_1']).toMatchObject({ status: 'captured', refunded_amount: 15 });
    expect(walletAvailable(partly.wallet)).toBe(75);
    expect(ledgerDecider.decide(spend(15, { spend_id: 'spd_2' }), partly)[0].type).toBe('SpendAuthorized');
    const fully = after(setup, spend(40), { type: 'RefundSpend', data: { spend_id: 'spd_1', amount: null, now } });
    expect(fully.spends['spd_1'].status).toBe('refunded');
    expect(() => ledgerDecider.decide({ type: 'RefundSpend', data: { spend_id: 'spd_1', amount: null, now } }, fully)).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }) as unknown as Error,
    );
  });
});
