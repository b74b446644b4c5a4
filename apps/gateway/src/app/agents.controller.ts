import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AgentView, CommandMeta, Subjects } from '@keyledger/contracts';
import {
  ApiError,
  Auth,
  callerOf,
  CurrentKey,
  IdPipe,
  KeyPrincipal,
  pageCursor,
  RequestMeta,
  Schemas,
  ServiceClients,
  visibilityOf,
  ZodPipe,
} from '@keyledger/gateway-http';
import { DB } from '@keyledger/nest';
import { agentView, findAgent, listAgents, ReadModels, toPage } from '@keyledger/read-models';

const Metadata = z.record(z.string().max(100), z.unknown()).refine((m) => JSON.stringify(m).length <= 16_384, 'must be at most 16 KiB of JSON');
export const CreateAgentBody = z.strictObject({ name: z.string().trim().min(1).max(200), metadata: Metadata.optional() });
export const UpdateAgentBody = z.strictObject({ name: z.string().trim().min(1).max(200).optional(), metadata: Metadata.optional() });
export const PauseAgentBody = z.strictObject({ duration: z.enum(['15m', '30m', '1h', '4h', 'indefinite']) });
export const ListAgentsQuery = z.strictObject(Schemas.listQuery);
const AgentId = new IdPipe('agt');

@Controller('v1/agents')
export class AgentsController {
  constructor(
    private readonly services: ServiceClients,
    @Inject(DB) private readonly db: Kysely<ReadModels>,
  ) {}

  @Post()
  @HttpCode(201)
  @Auth.key('agents:write')
  create(
    @Body(new ZodPipe(CreateAgentBody)) body: z.infer<typeof CreateAgentBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<AgentView> {
    return this.services.keyRegistry.send(Subjects.keys.createAgent, { ...body, caller: callerOf(principal) }, meta);
  }

  @Get()
  @Auth.key('agents:read')
  async list(@Query(new ZodPipe(ListAgentsQuery)) query: z.infer<typeof ListAgentsQuery>, @CurrentKey() principal: KeyPrincipal) {
    const now = new Date();
    const rows = await listAgents(this.db, visibilityOf(principal), pageCursor(query.cursor), query.limit);
    return toPage(rows, query.limit, (row) => agentView(row, now));
  }

  @Get(':id')
  @Auth.key('agents:read')
  async get(@Param('id', AgentId) id: string, @CurrentKey() principal: KeyPrincipal): Promise<AgentView> {
    const row = await findAgent(this.db, visibilityOf(principal), id);
    if (!row) throw new ApiError('NOT_FOUND', 'no such agent');
    return agentView(row, new Date());
  }

  @Patch(':id')
  @Auth.key('agents:write')
  update(
    @Param('id', AgentId) id: string,
    @Body(new ZodPipe(UpdateAgentBody)) body: z.infer<typeof UpdateAgentBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<AgentView> {
    return this.services.keyRegistry.send(Subjects.keys.updateAgent, { ...body, agent_id: id, caller: callerOf(principal) }, meta);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @Auth.key('agents:write')
  pause(
    @Param('id', AgentId) id: string,
    @Body(new ZodPipe(PauseAgentBody)) body: z.infer<typeof PauseAgentBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<AgentView> {
    return this.services.keyRegistry.send(Subjects.keys.pauseAgent, { ...body, agent_id: id, caller: callerOf(principal) }, meta);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Auth.key('agents:write')
  resume(@Param('id', AgentId) id: string, @CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta): Promise<AgentView> {
    return this.services.keyRegistry.send(Subjects.keys.resumeAgent, { agent_id: id, caller: callerOf(principal) }, meta);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Auth.key('agents:write')
  revoke(@Param('id', AgentId) id: string, @CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta): Promise<AgentView> {
    return this.services.keyRegistry.send(Subjects.keys.revokeAgent, { agent_id: id, caller: callerOf(principal) }, meta);
  }
}
