import { Body, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import { CommandMeta, CreateOrgReply, ENVIRONMENTS, PLANS, Subjects } from '@keyledger/contracts';
import { Auth, RequestMeta, ServiceClients, ZodPipe } from '@keyledger/gateway-http';

export const CreateOrgBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be blank').max(200),
  plan: z.enum(PLANS).optional(),
});
export const CreateOrgQuery = z.object({ environment: z.enum(ENVIRONMENTS).default('test') });

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
}
