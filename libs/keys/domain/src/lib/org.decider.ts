import { assertNever, Decider, DomainError } from '@keyledger/domain';
import type { Plan, RateLimitOverrides } from '@keyledger/contracts';

export type OrgCommand =
  | Readonly<{
      type: 'CreateOrg';
      data: { org_id: string; name: string; plan: Plan | null; sandbox: boolean; now: string };
    }>
  | Readonly<{
      type: 'ChangePlan';
      data: { plan: Plan | null; overrides: RateLimitOverrides | null; now: string };
    }>;

export type OrgEvent =
  | Readonly<{
      type: 'OrgCreated';
      data: { org_id: string; name: string; plan: Plan | null; sandbox: boolean; created_at: string };
    }>
  | Readonly<{
      type: 'OrgPlanChanged';
      data: { org_id: string; plan: Plan | null; overrides: RateLimitOverrides | null; changed_at: string };
    }>;

export type OrgState =
  | { status: 'absent' }
  | { status: 'active'; id: string; name: string; plan: Plan | null; sandbox: boolean; created_at: string };

export const orgStream = (orgId: string) => `org-${orgId}`;

export const orgDecider: Decider<OrgCommand, OrgEvent, OrgState> = {
  initialState: () => ({ status: 'absent' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateOrg': {
        if (state.status !== 'absent') throw new DomainError('CONFLICT', `organization ${command.data.org_id} exists`);
        const name = command.data.name.trim();
        if (name.length === 0) throw new DomainError('VALIDATION_ERROR', 'name must not be blank');
        return [
          {
            type: 'OrgCreated',
            data: { org_id: command.data.org_id, name, plan: command.data.plan, sandbox: command.data.sandbox, created_at: command.data.now },
          },
        ];
      }
      case 'ChangePlan': {
        if (state.status !== 'active') throw new DomainError('NOT_FOUND', 'no such organization');
        const { plan, overrides } = command.data;
        return [{ type: 'OrgPlanChanged', data: { org_id: state.id, plan, overrides, changed_at: command.data.now } }];
      }
      default:
        return assertNever(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'OrgCreated':
        return {
          status: 'active',
          id: event.data.org_id,
          name: event.data.name,
          plan: event.data.plan,
          sandbox: event.data.sandbox,
          created_at: event.data.created_at,
        };
      case 'OrgPlanChanged':
        return state.status === 'active' ? { ...state, plan: event.data.plan } : state;
      default:
        return assertNever(event);
    }
  },
};
