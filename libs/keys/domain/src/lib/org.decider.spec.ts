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
