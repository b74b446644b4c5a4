import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { readConfig } from '@keyledger/config';
import { ApiKeyView, CommandMeta, CreatedApiKeyView, RollKeyReply, Subjects } from '@keyledger/contracts';
import {
  ApiError,
  Auth,
  callerOf,
  CurrentKey,
  CurrentPrincipal,
  IdPipe,
  KeyPrincipal,
  pageCursor,
  Principal,
  RateLimited,
  RequestMeta,
  Schemas,
  ServiceClients,
  visibilityOf,
  ZodPipe,
} from '@keyledger/gateway-http';
import { DB } from '@keyledger/nest';
import { apiKeyView, findKey, listKeys, ReadModels, toPage } from '@keyledger/read-models';

export const CreateKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200).nullable().optional(),
  environment: Schemas.environment.optional(),
  scopes: Schemas.scopes.optional(),
  agent_id: Schemas.id('agt').nullable().optional(),
  expires_at: Schemas.isoTime.nullable().optional(),
  signing: z.boolean().optional(),
  key: z.string().optional(),
});
export const LinkKeyBody = z.strictObject({ key: z.string().min(1).max(256) });
export const UpdateKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200).nullable().optional(),
  scopes: Schemas.scopes.optional(),
  expires_at: Schemas.isoTime.nullable().optional(),
});
export const RollKeyBody = z.strictObject({ grace_period_seconds: z.number().int().min(0).max(604_800).default(86_400) });
export const ListKeysQuery = z.strictObject({
  ...Schemas.listQuery,
  status: z.enum(['active', 'expired', 'revoked']).optional(),
  agent_id: Schemas.id('agt').optional(),
});
const KeyId = new IdPipe('key');

@Controller('v1/api-keys')
export class ApiKeysController {
  private readonly selfServe = readConfig(['KEYLEDGER_SELF_SERVE']).KEYLEDGER_SELF_SERVE;

  constructor(
    private readonly services: ServiceClients,
    @Inject(DB) private readonly db: Kysely<ReadModels>,
  ) {}

  /** With a key: a new key in the caller's org. Without any credential: a self-serve unclaimed key. */
  @Post()
  @HttpCode(201)
  @Auth.keyOrAnonymous('keys:write')
  @RateLimited({ keyCreation: true })
  create(
    @Body(new ZodPipe(CreateKeyBody)) body: z.infer<typeof CreateKeyBody>,
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestMeta() meta: CommandMeta,
  ): Promise<CreatedApiKeyView> {
    if (principal === undefined) {
      if (!this.selfServe) throw new ApiError('UNAUTHORIZED', 'missing API key (self-serve keys are turned off here)');
      const extra = Object.keys(body).filter((field) => field !== 'name' && field !== 'environment');
      if (extra.length > 0) {
        throw new ApiError('VALIDATION_ERROR', 'a self-serve key takes only name and environment', {
          fields: extra.map((field) => ({ field, message: 'not allowed without an API key' })),
        });
      }
      return this.services.keyRegistry.send(Subjects.keys.createSelfServeKey, { name: body.name, environment: body.environment }, meta);
    }
    if (principal.kind !== 'key') throw new ApiError('UNAUTHORIZED', 'an API key is required');
    return this.services.keyRegistry.send(Subjects.keys.createKey, { ...body, caller: callerOf(principal) }, meta);
  }

  @Post('link')
  @HttpCode(200)
  @Auth.key('keys:write')
  link(
    @Body(new ZodPipe(LinkKeyBody)) body: z.infer<typeof LinkKeyBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<ApiKeyView> {
    return this.services.keyRegistry.send(Subjects.keys.linkKey, { key: body.key, caller: callerOf(principal) }, meta);
  }

  @Get()
  @Auth.key('keys:read')
  async list(@Query(new ZodPipe(ListKeysQuery)) query: z.infer<typeof ListKeysQuery>, @CurrentKey() principal: KeyPrincipal) {
    const now = new Date();
    const rows = await listKeys(this.db, visibilityOf(principal), { status: query.status, agentId: query.agent_id }, pageCursor(query.cursor), query.limit, now);
    return toPage(rows, query.limit, (row) => apiKeyView(row, now, row.last_used_at));
  }

  @Get(':id')
  @Auth.key('keys:read')
  async get(@Param('id', KeyId) id: string, @CurrentKey() principal: KeyPrincipal): Promise<ApiKeyView> {
    const row = await findKey(this.db, visibilityOf(principal), id);
    if (!row) throw new ApiError('NOT_FOUND', 'no such API key');
    return apiKeyView(row, new Date(), row.last_used_at);
  }

  @Patch(':id')
  @Auth.key('keys:write')
  update(
    @Param('id', KeyId) id: string,
    @Body(new ZodPipe(UpdateKeyBody)) body: z.infer<typeof UpdateKeyBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<ApiKeyView> {
    return this.services.keyRegistry.send(Subjects.keys.updateKey, { ...body, key_id: id, caller: callerOf(principal) }, meta);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Auth.key('keys:write')
  revoke(@Param('id', KeyId) id: string, @CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta): Promise<ApiKeyView> {
    return this.services.keyRegistry.send(Subjects.keys.revokeKey, { key_id: id, caller: callerOf(principal) }, meta);
  }

  @Delete(':id')
  @Auth.key('keys:write')
  remove(@Param('id', KeyId) id: string, @CurrentKey() principal: KeyPrincipal, @RequestMeta() meta: CommandMeta): Promise<ApiKeyView> {
    return this.revoke(id, principal, meta);
  }

  @Post(':id/roll')
  @HttpCode(201)
  @Auth.key('keys:write')
  @RateLimited({ keyCreation: true })
  roll(
    @Param('id', KeyId) id: string,
    @Body(new ZodPipe(RollKeyBody)) body: z.infer<typeof RollKeyBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<RollKeyReply> {
    return this.services.keyRegistry.send(Subjects.keys.rollKey, { ...body, key_id: id, caller: callerOf(principal) }, meta);
  }
}
