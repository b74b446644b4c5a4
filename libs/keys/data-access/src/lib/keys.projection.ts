import type { Kysely, Transaction } from 'kysely';
import type { EventRow } from '@keyledger/event-store';
import type { ApiKeyEvent, OrgEvent } from '@keyledger/keys-domain';
import type { ReadModels } from '@keyledger/read-models';

export const KEYS_PROJECTION = 'keys-read-model';
/** Event types this projection reads; anything else in the log is none of its business. */
const HANDLED = new Set(['OrgCreated', 'KeyCreated']);

/**
 * Applies key-registry events to the `orgs` and `api_keys` tables. Called inline, in the append's
 * transaction; the same function rebuilds the tables from the log on replay, so the two agree.
 */
export async function projectKeyEvents(
  trx: Transaction<any> | Kysely<any>,
  events: readonly Pick<EventRow, 'type' | 'data' | 'position'>[],
): Promise<void> {
  const db = trx as Kysely<ReadModels>;
  for (const stored of events) {
    if (!HANDLED.has(stored.type)) continue;
    const event = { type: stored.type, data: stored.data } as OrgEvent | ApiKeyEvent;
    switch (event.type) {
      case 'OrgCreated':
        await db
          .insertInto('orgs')
          .values({ id: event.data.org_id, name: event.data.name, plan: event.data.plan, created_at: new Date(event.data.created_at) })
          .execute();
        break;
      case 'KeyCreated': {
        const k = event.data;
        await db
          .insertInto('api_keys')
          .values({
            id: k.key_id,
            org_id: k.org_id,
            name: k.name,
            key_hash: k.key_hash,
            key_prefix: k.key_prefix,
            last4: k.last4,
            environment: k.environment,
            scopes: k.scopes,
            agent_id: k.agent_id,
            status: 'active',
            claimed: k.claimed,
            signing: k.signing,
            created_at: new Date(k.created_at),
            expires_at: k.expires_at === null ? null : new Date(k.expires_at),
            revoked_at: null,
            version: stored.position,
          })
          .execute();
        break;
      }
    }
  }
}
