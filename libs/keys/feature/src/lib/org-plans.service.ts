import { Injectable } from '@nestjs/common';
import type { Transaction } from 'kysely';
import { ChangePlanReply, ChangePlanRequest, CommandMeta } from '@keyledger/contracts';
import { orgDecider, orgStream } from '@keyledger/keys-domain';
import { CommandRunner, eventMetadata } from '@keyledger/nest';
import type { ReadModels } from '@keyledger/read-models';

/** Operator plan changes: an `OrgPlanChanged` on the org's stream, projected into `orgs` inline. */
@Injectable()
export class OrgPlansService {
  constructor(private readonly runner: CommandRunner) {}

  changePlan(request: ChangePlanRequest, meta: CommandMeta, now = new Date()): Promise<ChangePlanReply> {
    return this.runner.run(async (uow) => {
      await uow.execute(
        orgDecider,
        orgStream(request.org_id),
        { type: 'ChangePlan', data: { plan: request.plan, overrides: request.overrides, now: now.toISOString() } },
        { metadata: eventMetadata(meta, { actor: 'operator' }), orgId: request.org_id },
      );
      const org = await (uow.trx as Transaction<ReadModels>)
        .selectFrom('orgs')
        .select(['id', 'name', 'plan', 'overrides'])
        .where('id', '=', request.org_id)
        .executeTakeFirstOrThrow();
      return { id: org.id, name: org.name, plan: org.plan, overrides: org.overrides };
    });
  }
}
