import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { readConfig } from '@keyledger/config';
import type { CommandMeta, CreateOrgReply, CreateOrgRequest } from '@keyledger/contracts';
import { EventMetadata, EventStore } from '@keyledger/event-store';
import { projectKeyEvents } from '@keyledger/keys-data-access';
import {
  apiKeyDecider,
  apiKeyStream,
  displayParts,
  generateApiKey,
  hashApiKey,
  newId,
  orgDecider,
  orgStream,
} from '@keyledger/keys-domain';
import { apiKeyView, orgView } from '@keyledger/read-models';
import { DB } from '@keyledger/nest';

export function eventMetadata(meta: CommandMeta, extra: Partial<EventMetadata> = {}): EventMetadata {
  return {
    request_id: meta.request_id,
    actor_key_id: meta.actor_key_id,
    agent_id: meta.agent_id,
    ip: meta.ip,
    idempotency_key: meta.idempotency_key,
    ...extra,
  };
}

/** Key-registry commands: decide with the domain, append, and project inline, in one transaction. */
@Injectable()
export class KeyRegistryService {
  private readonly keyPrefix = readConfig(['KEYLEDGER_KEY_PREFIX']).KEYLEDGER_KEY_PREFIX;

  constructor(
    @Inject(DB) private readonly db: Kysely<any>,
    private readonly store: EventStore,
  ) {}

  /** A new organization and its first key (scopes `*`), whose plaintext is returned this once. */
  async createOrg(request: CreateOrgRequest, meta: CommandMeta, now = new Date()): Promise<CreateOrgReply> {
    const orgId = newId('org');
    const keyId = newId('key');
    const plaintext = generateApiKey(this.keyPrefix, request.environment);
    const at = now.toISOString();

    const orgEvents = orgDecider.decide(
      { type: 'CreateOrg', data: { org_id: orgId, name: request.name, plan: request.plan ?? null, now: at } },
      orgDecider.initialState(),
    );
    const keyEvents = apiKeyDecider.decide(
      {
        type: 'CreateKey',
        data: {
          key_id: keyId,
          org_id: orgId,
          name: 'default',
          key_hash: hashApiKey(plaintext),
          ...displayParts(plaintext),
          environment: request.environment,
          scopes: ['*'],
          agent_id: null,
          expires_at: null,
          signing: false,
          claimed: true,
          now: at,
        },
      },
      apiKeyDecider.initialState(),
    );

    const metadata = eventMetadata(meta, { environment: request.environment });
    await this.db.transaction().execute(async (trx) => {
      const org = await this.store.append(orgStream(orgId), 0, orgEvents, metadata, { trx, orgId });
      const key = await this.store.append(apiKeyStream(keyId), 0, keyEvents, metadata, { trx, orgId });
      await projectKeyEvents(trx, [...org.events, ...key.events]);
    });

    const created = keyEvents[0].data;
    return {
      org: orgView({ id: orgId, name: orgEvents[0].data.name, plan: orgEvents[0].data.plan }),
      api_key: {
        ...apiKeyView(
          {
            id: keyId,
            org_id: orgId,
            name: created.name,
            key_hash: created.key_hash,
            key_prefix: created.key_prefix,
            last4: created.last4,
            environment: created.environment,
            scopes: created.scopes,
            agent_id: null,
            status: 'active',
            claimed: true,
            signing: false,
            created_at: now,
            expires_at: null,
            revoked_at: null,
            version: 0,
          },
          now,
        ),
        key: plaintext,
      },
    };
  }
}
