import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { z } from 'zod';
import { BudgetSubjects, BudgetView, CommandMeta } from '@keyledger/contracts';
import { ApiError, Auth, callerOf, CurrentKey, IdPipe, KeyPrincipal, RequestMeta, ServiceClients, ZodPipe } from '@keyledger/gateway-http';
import { Money } from './money.schemas';

export const BudgetBody = z.strictObject({
  currency: Money.currency,
  fixed_limit: Money.amount.nullable().optional(),
  budget_percent: Money.percent.nullable().optional(),
  max_position_value: Money.amount.nullable().optional(),
  limits: Money.limits.optional(),
  require_attestation: z.boolean().optional(),
});
const AgentId = new IdPipe('agt');

/**
 * Agent budgets. Reads go to the ledger too: the budget shown is computed by the same functions
 * that decide spends, so what GET says remains is what a spend may take.
 */
@Controller('v1')
export class BudgetsController {
  constructor(private readonly services: ServiceClients) {}

  @Put('agents/:id/budget')
  @Auth.key('agents:write')
  set(
    @Param('id', AgentId) id: string,
    @Body(new ZodPipe(BudgetBody)) body: z.infer<typeof BudgetBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<BudgetView> {
    return this.services.budgetLedger.send(BudgetSubjects.setBudget, { ...body, agent_id: id, caller: callerOf(principal) }, meta);
  }

  /** `agents:read`, or the agent's own key whatever its scopes. */
  @Get('agents/:id/budget')
  @Auth.key()
  get(@Param('id', AgentId) id: string, @CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta): Promise<BudgetView> {
    const scopes = principal.key.scopes;
    const own = principal.key.agent_id === id;
    if (!own && !scopes.includes('*') && !scopes.includes('agents:read')) {
      throw new ApiError('PERMISSION_DENIED', 'this key lacks the agents:read scope', { required_scope: 'agents:read' });
    }
    return this.services.budgetLedger.send(BudgetSubjects.getBudget, { agent_id: id, caller: callerOf(principal) }, meta);
  }

  /** The calling agent's own budget (a key bound to an agent). */
  @Get('budget')
  @Auth.key()
  own(@CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta): Promise<BudgetView> {
    const agentId = principal.key.agent_id;
    if (agentId === null) {
      throw new ApiError('PERMISSION_DENIED', 'GET /v1/budget needs a key bound to an agent; use GET /v1/agents/{id}/budget', {
        required_scope: 'agents:read',
      });
    }
    return this.services.budgetLedger.send(BudgetSubjects.getBudget, { agent_id: agentId, caller: callerOf(principal) }, meta);
  }
}
