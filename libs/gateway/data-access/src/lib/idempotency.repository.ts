import { Kysely, sql } from 'kysely';
import type { MigrationSet } from '@keyledger/event-store';
import * as idempotencyRecordsMigration from './migrations/2026_11_22_0001_idempotency_records';

/** The gateway's only tables: idempotency records. */
export const gatewayMigrations: MigrationSet = {
  name: 'gateway',
  migrations: { '2026_11_22_0001_idempotency_records': idempotencyRecordsMigration },
};

export interface IdempotencyRecordsTable {
  scope: string;
  key: string;
  fingerprint: string;
  state: 'in_progress' | 'done';
  status: number | null;
  body: string | null;
  locked_until: Date;
  created_at: Date;
  expires_at: Date;
}

export interface GatewayDatabase {
  idempotency_records: IdempotencyRecordsTable;
}

export const IDEMPOTENCY_RETENTION_HOURS = 24;

export type ClaimOutcome =
  | { kind: 'claimed' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'in_progress' }
  | { kind: 'reused' };

/**
 * Idempotency records in Postgres, so every gateway instance sees the same ones. A request claims
 * its key with an insert (one winner, however many race); a claim whose gateway died mid-request
 * can be taken over once its lease has passed (the service it called deduplicates by the same key).
 */
export const idempotencyRecords = {
  async claim(db: Kysely<GatewayDatabase>, scope: string, key: string, fingerprint: string, leaseSeconds: number): Promise<ClaimOutcome> {
    const inserted = await sql<{ key: string }>`
      insert into idempotency_records (scope, key, fingerprint, state, locked_until, expires_at)
      values (${scope}, ${key}, ${fingerprint}, 'in_progress', now() + make_interval(secs => ${leaseSeconds}),
              now() + make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}))
      on conflict (scope, key) do update
        set fingerprint = excluded.fingerprint, locked_until = excluded.locked_until,
            created_at = now(), expires_at = excluded.expires_at
        where idempotency_records.expires_at <= now()
           or (idempotency_records.state = 'in_progress' and idempotency_records.locked_until <= now()
               and idempotency_records.fingerprint = excluded.fingerprint)
      returning key`.execute(db);
    if (inserted.rows.length === 1) return { kind: 'claimed' };
    const existing = await db.selectFrom('idempotency_records').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    if (!existing) return this.claim(db, scope, key, fingerprint, leaseSeconds);
    if (existing.fingerprint !== fingerprint) return { kind: 'reused' };
    if (existing.state === 'done' && existing.status !== null && existing.body !== null) {
      return { kind: 'replay', status: existing.status, body: existing.body };
    }
    return { kind: 'in_progress' };
  },

  async complete(db: Kysely<GatewayDatabase>, scope: string, key: string, status: number, body: string): Promise<void> {
    await db
      .updateTable('idempotency_records')
      .set({ state: 'done', status, body })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  },

  /** Gives the key back (the request failed without an answer worth repeating). */
  async release(db: Kysely<GatewayDatabase>, scope: string, key: string): Promise<void> {
    await db.deleteFrom('idempotency_records').where('scope', '=', scope).where('key', '=', key).where('state', '=', 'in_progress').execute();
  },

  async deleteExpired(db: Kysely<GatewayDatabase>): Promise<number> {
    const result = await db.deleteFrom('idempotency_records').where('expires_at', '<=', sql<Date>`now()`).executeTakeFirst();
    return Number(result.numDeletedRows);
  },
};
