import { Body, Controller, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { z } from 'zod';
import { ChangePlanReply, CommandMeta, CreateOrgReply, ENVIRONMENTS, PLANS, RateLimitSubjects, Subjects } from '@keyledger/contracts';
import { Auth, IdPipe, RequestMeta, ServiceClients, ZodPipe } from '@keyledger/gateway-http';

export const CreateOrgBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be blank').max(200),
  plan: z.enum(PLANS).optional(),
});
export const CreateOrgQuery = z.object({ environment: z.enum(ENVIRONMENTS).default('test') });
const Rate = z.number().int().min(1).max(10_000_000);
const ClassOverride = z.strictObject({ per_minute: Rate.optional(), burst: Rate.optional() });
export const ChangePlanBody = z.strictObject({
  plan: z.enum(PLANS).nullable(),
  overrides: z
    .strictObject({
      read: ClassOverride.optional(),
      write: ClassOverride.optional(),
      key_create: ClassOverride.optional(),
      per_hour: z.number().int().min(1).max(1_000_000_000).nullable().optional(),
    })
    .nullable()
    .optional(),
});

@Controller('v1/orgs')
export class OrgsController {
  constructor(private readonly services: ServiceClients) {}

  @Post()
  @HttpCode(201)
  @Auth.operator()
  createOrg(
    @Body(new ZodPipe(CreateOrgBody)) body: z.infer<typeof CreateOrgBody>,
    @Query(new ZodPipe(CreateOrgQuery)) query: z.infer<typeof CreateOrgQuery>,
    @RequestMeta() meta: CommandMeta,
  ): Promise<CreateOrgReply> {
    return this.services.keyRegistry.send(Subjects.keys.createOrg, { ...body, environment: query.environment }, meta);
  }

  /** A new plan (null: the defaults) and optional overrides; rate limits follow within a second everywhere. */
  @Put(':org_id/plan')
  @HttpCode(200)
  @Auth.operator()
  changePlan(
    @Param('org_id', new IdPipe('org')) orgId: string,
    @Body(new ZodPipe(ChangePlanBody)) body: z.infer<typeof ChangePlanBody>,
    @RequestMeta() meta: CommandMeta,
  ): Promise<ChangePlanReply> {
    return this.services.keyRegistry.send(RateLimitSubjects.changePlan, { org_id: orgId, plan: body.plan, overrides: body.overrides ?? null }, meta);
  }
}
