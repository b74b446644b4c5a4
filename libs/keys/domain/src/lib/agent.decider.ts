import { assertNever, Decider, DomainError } from '@keyledger/domain';
import type { Environment } from '@keyledger/contracts';

export const PAUSE_DURATIONS = { '15m': 15 * 60, '30m': 30 * 60, '1h': 3600, '4h': 4 * 3600, indefinite: null } as const;
export type PauseDuration = keyof typeof PAUSE_DURATIONS;

export type AgentMetadata = Record<string, unknown>;

export type AgentCommand =
  | Readonly<{
      type: 'CreateAgent';
      data: { agent_id: string; org_id: string; environment: Environment; name: string; metadata: AgentMetadata; now: string };
    }>
  | Readonly<{ type: 'UpdateAgent'; data: { name?: string; metadata?: AgentMetadata; now: string } }>
  | Readonly<{ type: 'PauseAgent'; data: { duration: PauseDuration; now: string } }>
  | Readonly<{ type: 'ResumeAgent'; data: { automatic: boolean; now: string } }>
  | Readonly<{ type: 'RevokeAgent'; data: { now: string } }>
  | Readonly<{ type: 'TransferAgent'; data: { to_org_id: string; now: string } }>;

export type AgentEvent =
  | Readonly<{
      type: 'AgentCreated';
      data: { agent_id: string; org_id: string; environment: Environment; name: string; metadata: AgentMetadata; created_at: string };
    }>
  | Readonly<{ type: 'AgentUpdated'; data: { agent_id: string; name?: string; metadata?: AgentMetadata; updated_at: string } }>
  | Readonly<{
      type: 'AgentPaused';
      data: { agent_id: string; duration: PauseDuration; paused_until: string | null; paused_at: string };
    }>
  | Readonly<{ type: 'AgentResumed'; data: { agent_id: string; automatic: boolean; resumed_at: string } }>
  | Readonly<{ type: 'AgentRevoked'; data: { agent_id: string; revoked_at: string } }>
  | Readonly<{ type: 'AgentTransferred'; data: { agent_id: string; from_org_id: string; to_org_id: string; transferred_at: string } }>;

export type AgentState =
  | { status: 'absent' }
  | {
      status: 'active' | 'paused' | 'revoked';
      agent_id: string;
      org_id: string;
      environment: Environment;
      name: string;
      metadata: AgentMetadata;
      paused_until: string | null;
      created_at: string;
    };

export const agentStream = (agentId: string) => `agent-${agentId}`;

/** A pause whose time has passed is over, whether or not the resume has been recorded yet. */
export function effectiveAgentStatus(
  agent: { status: 'active' | 'paused' | 'revoked'; paused_until: string | Date | null },
  now: Date,
): 'active' | 'paused' | 'revoked' {
  if (agent.status !== 'paused' || agent.paused_until === null) return agent.status;
  return new Date(agent.paused_until) <= now ? 'active' : 'paused';
}

function requireLive(state: AgentState) {
  if (state.status === 'absent') throw new DomainError('NOT_FOUND', 'no such agent');
  if (state.status === 'revoked') throw new DomainError('AGENT_REVOKED', 'this agent has been revoked');
  return state;
}

function validName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) {
    throw new DomainError('VALIDATION_ERROR', 'name must not be blank', { fields: [{ field: 'name', message: 'must not be blank' }] });
  }
  return trimmed;
}

export const agentDecider: Decider<AgentCommand, AgentEvent, AgentState> = {
  initialState: () => ({ status: 'absent' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateAgent': {
        if (state.status !== 'absent') throw new DomainError('CONFLICT', `agent ${command.data.agent_id} exists`);
        const { now, ...agent } = command.data;
        return [{ type: 'AgentCreated', data: { ...agent, name: validName(agent.name), created_at: now } }];
      }
      case 'UpdateAgent': {
        const agent = requireLive(state);
        const { now, ...changes } = command.data;
        if (changes.name !== undefined) changes.name = validName(changes.name);
        return [{ type: 'AgentUpdated', data: { agent_id: agent.agent_id, ...changes, updated_at: now } }];
      }
      case 'PauseAgent': {
        const agent = requireLive(state);
        const seconds = PAUSE_DURATIONS[command.data.duration];
        const until = seconds === null ? null : new Date(Date.parse(command.data.now) + seconds * 1000).toISOString();
        return [
          {
            type: 'AgentPaused',
            data: { agent_id: agent.agent_id, duration: command.data.duration, paused_until: until, paused_at: command.data.now },
          },
        ];
      }
      case 'ResumeAgent': {
        const agent = requireLive(state);
        if (agent.status === 'active') return [];
        return [{ type: 'AgentResumed', data: { agent_id: agent.agent_id, automatic: command.data.automatic, resumed_at: command.data.now } }];
      }
      case 'RevokeAgent': {
        if (state.status === 'absent') throw new DomainError('NOT_FOUND', 'no such agent');
        if (state.status === 'revoked') return [];
        return [{ type: 'AgentRevoked', data: { agent_id: state.agent_id, revoked_at: command.data.now } }];
      }
      case 'TransferAgent': {
        const agent = requireLive(state);
        return [
          {
            type: 'AgentTransferred',
            data: { agent_id: agent.agent_id, from_org_id: agent.org_id, to_org_id: command.data.to_org_id, transferred_at: command.data.now },
          },
        ];
      }
      default:
        return assertNever(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'AgentCreated': {
        const { created_at, ...agent } = event.data;
        return { status: 'active', ...agent, paused_until: null, created_at };
      }
      case 'AgentUpdated': {
        if (state.status === 'absent') return state;
        const { agent_id: _id, updated_at: _at, ...changes } = event.data;
        return { ...state, ...changes };
      }
      case 'AgentPaused':
        return state.status === 'absent' ? state : { ...state, status: 'paused', paused_until: event.data.paused_until };
      case 'AgentResumed':
        return state.status === 'absent' ? state : { ...state, status: 'active', paused_until: null };
      case 'AgentRevoked':
        return state.status === 'absent' ? state : { ...state, status: 'revoked', paused_until: null };
      case 'AgentTransferred':
        return state.status === 'absent' ? state : { ...state, org_id: event.data.to_org_id };
      default:
        return assertNever(event);
    }
  },
};
