import { DomainError, replayState } from '@keyledger/domain';
import { orgDecider } from './org.decider';

describe('org decider', () => {
  const now = '2026-11-22T10:00:00.000Z';

  it('given no org, when CreateOrg, then OrgCreated with the trimmed name', () => {
    const events = orgDecider.decide(
      { type: 'CreateOrg', data: { org_id: 'org_1', name: '  Acme ', plan: 'growth', sandbox: false, now } },
      orgDecider.initialState(),
    );
    expect(events).toEqual([{ type: 'OrgCreated', data: { org_id: 'org_1', name: 'Acme', plan: 'growth', sandbox: false, created_at: now } }]);
  });

  it('given an existing org, when CreateOrg again, then CONFLICT', () => {
    const state = replayState(orgDecider, [
      { type: 'OrgCreated', data: { org_id: 'org_1', name: 'Acme', plan: null, sandbox: false, created_at: now } },
    ]);
    expect(state.status).toBe('active');
    expect(() =>
      orgDecider.decide({ type: 'CreateOrg', data: { org_id: 'org_1', name: 'Acme', plan: null, sandbox: false, now } }, state),
    ).toThrow(expect.objectContaining({ code: 'CONFLICT' }) as unknown as DomainError);
  });

  it('rejects a blank name', () => {
    expect(() =>
      orgDecider.decide({ type: 'CreateOrg', data: { org_id: 'org_1', name: '   ', plan: null, sandbox: false, now } }, orgDecider.initialState()),
    ).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }) as unknown as DomainError);
  });
});

describe('org decider: plan changes', () => {
  const now = '2026-11-22T10:00:00.000Z';
  const created = { type: 'OrgCreated', data: { org_id: 'org_1', name: 'Acme', plan: null, sandbox: false, created_at: now } } as const;

  it('given an org, when ChangePlan, then OrgPlanChanged with the plan and overrides', () => {
    const state = replayState(orgDecider, [created]);
    const overrides = { write: { per_minute: 6000, burst: 1000 }, per_hour: 100000 };
    expect(orgDecider.decide({ type: 'ChangePlan', data: { plan: 'growth', overrides, now } }, state)).toEqual([
      { type: 'OrgPlanChanged', data: { org_id: 'org_1', plan: 'growth', overrides, changed_at: now } },
    ]);
    const after = replayState(orgDecider, [created, { type: 'OrgPlanChanged', data: { org_id: 'org_1', plan: 'growth', overrides, changed_at: now } }]);
    expect(after).toMatchObject({ status: 'active', plan: 'growth' });
  });

  it('given no org, when ChangePlan, then NOT_FOUND', () => {
    expect(() => orgDecider.decide({ type: 'ChangePlan', data: { plan: 'starter', overrides: null, now } }, orgDecider.initialState())).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }) as unknown as DomainError,
    );
  });
});
