import { agentDecider, AgentEvent, effectiveAgentStatus } from './agent.decider';
import { replayState } from '@keyledger/domain';

const now = '2026-11-22T10:00:00.000Z';
const created: AgentEvent = {
  type: 'AgentCreated',
  data: { agent_id: 'agt_1', org_id: 'org_1', environment: 'test', name: 'bot', metadata: {}, created_at: now },
};
const given = (...events: AgentEvent[]) => replayState(agentDecider, events);

describe('agent decider', () => {
  it.each([
    ['15m', '2026-11-22T10:15:00.000Z'],
    ['30m', '2026-11-22T10:30:00.000Z'],
    ['1h', '2026-11-22T11:00:00.000Z'],
    ['4h', '2026-11-22T14:00:00.000Z'],
    ['indefinite', null],
  ] as const)('pauses for %s until %s', (duration, until) => {
    expect(agentDecider.decide({ type: 'PauseAgent', data: { duration, now } }, given(created))).toEqual([
      { type: 'AgentPaused', data: { agent_id: 'agt_1', duration, paused_until: until, paused_at: now } },
    ]);
  });

  it('treats a pause whose time has passed as over, before and after the resume is recorded', () => {
    const paused = { status: 'paused' as const, paused_until: '2026-11-22T10:15:00.000Z' };
    expect(effectiveAgentStatus(paused, new Date('2026-11-22T10:14:59.999Z'))).toBe('paused');
    expect(effectiveAgentStatus(paused, new Date('2026-11-22T10:15:00.000Z'))).toBe('active');
    expect(effectiveAgentStatus({ status: 'paused', paused_until: null }, new Date('2099-01-01'))).toBe('paused');
  });

  it('resumes a paused agent, and records nothing for one already active', () => {
    const paused = given(created, { type: 'AgentPaused', data: { agent_id: 'agt_1', duration: '15m', paused_until: null, paused_at: now } });
    expect(agentDecider.decide({ type: 'ResumeAgent', data: { automatic: true, now } }, paused)).toEqual([
      { type: 'AgentResumed', data: { agent_id: 'agt_1', automatic: true, resumed_at: now } },
    ]);
    expect(agentDecider.decide({ type: 'ResumeAgent', data: { automatic: false, now } }, given(created))).toEqual([]);
  });

  it('revokes once; a revoked agent cannot be paused, resumed or changed', () => {
    const revoked = given(created, { type: 'AgentRevoked', data: { agent_id: 'agt_1', revoked_at: now } });
    expect(agentDecider.decide({ type: 'RevokeAgent', data: { now } }, revoked)).toEqual([]);
    for (const command of [
      { type: 'PauseAgent', data: { duration: '1h', now } },
      { type: 'ResumeAgent', data: { automatic: false, now } },
      { type: 'UpdateAgent', data: { name: 'x', now } },
    ] as const) {
      expect(() => agentDecider.decide(command, revoked)).toThrow(expect.objectContaining({ code: 'AGENT_REVOKED' }) as unknown as Error);
    }
  });

  it('answers NOT_FOUND for an agent that does not exist', () => {
    expect(() => agentDecider.decide({ type: 'PauseAgent', data: { duration: '1h', now } }, agentDecider.initialState())).toThrow('no such agent');
  });
});
