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

export interface NewClaim {
  scope: string;
  key: string;
  fingerprint: string;
}

export interface Answer {
  scope: string;
  key: string;
  status: number;
  body: string;
}

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

  /**
   * `claim`'s insert for many requests in one statement, so one commit: whether each got its key.
   * Only the first of several claims of one key is tried (a statement cannot touch a row twice);
   * a claim that did not get its key learns why from `claim`.
   */
  async claimMany(db: Kysely<GatewayDatabase>, claims: readonly NewClaim[], leaseSeconds: number): Promise<boolean[]> {
    const first = new Map<string, number>();
    claims.forEach((c, i) => {
      if (!first.has(`${c.scope}\n${c.key}`)) first.set(`${c.scope}\n${c.key}`, i);
    });
    const tried = [...first.values()].map((i) => claims[i]);
    const inserted = await sql<{ scope: string; key: string }>`
      insert into idempotency_records (scope, key, fingerprint, state, locked_until, expires_at)
      select v.scope, v.key, v.fingerprint, 'in_progress', now() + make_interval(secs => ${leaseSeconds}),
             now() + make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS})
      from unnest(${tried.map((c) => c.scope)}::text[], ${tried.map((c) => c.key)}::text[], ${tried.map((c) => c.fingerprint)}::text[])
        as v(scope, key, fingerprint)
      on conflict (scope, key) do update
        set fingerprint = excluded.fingerprint, locked_until = excluded.locked_until,
            created_at = now(), expires_at = excluded.expires_at
        where idempotency_records.expires_at <= now()
           or (idempotency_records.state = 'in_progress' and idempotency_records.locked_until <= now()
               and idempotency_records.fingerprint = excluded.fingerprint)
      returning scope, key`.execute(db);
    const got = new Set(inserted.rows.map((r) => `${r.scope}\n${r.key}`));
    return claims.map((c, i) => first.get(`${c.scope}\n${c.key}`) === i && got.has(`${c.scope}\n${c.key}`));
  },

  /** `complete` for many answers in one statement (one commit). */
  async completeMany(db: Kysely<GatewayDatabase>, answers: readonly Answer[]): Promise<void> {
    await sql`
      update idempotency_records r set state = 'done', status = v.status, body = v.body
      from unnest(${answers.map((a) => a.scope)}::text[], ${answers.map((a) => a.key)}::text[],
                  ${answers.map((a) => a.status)}::int[], ${answers.map((a) => a.body)}::text[]) as v(scope, key, status, body)
      where r.scope = v.scope and r.key = v.key`.execute(db);
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

/**
 * Runs `writeMany` for items that arrive while an earlier call is in flight, all at once: the first
 * item goes alone at once; those queued behind it go together when it returns (group commit). Each
 * caller's promise settles with its own result, after the statement that wrote it has committed.
 * A failed group is retried item by item, so one bad item fails only itself.
 */
class GroupCommit<I, O> {
  private readonly queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private busy = false;

  constructor(
    private readonly writeMany: (items: I[]) => Promise<O[]>,
    private readonly maxItems = 500,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxItems);
      try {
        const results = await this.writeMany(group.map((g) => g.item));
        group.forEach((g, i) => g.resolve(results[i]));
      } catch (error) {
        if (group.length === 1) group[0].reject(error);
        else for (const g of group) await this.writeMany([g.item]).then(([result]) => g.resolve(result), g.reject);
      }
    }
    this.busy = false;
  }
}

/**
 * The writes every idempotent request makes (its claim, then its answer), grouped across the
 * concurrent requests of one gateway: one statement and one commit per group instead of per request.
 * Nothing is acknowledged before it is committed, so a claim still has one winner and a stored
 * answer is durable before the response leaves.
 */
export class IdempotencyRecordWriter {
  private readonly claims: GroupCommit<NewClaim, boolean>;
  private readonly answers: GroupCommit<Answer, void>;

  constructor(
    private readonly db: Kysely<GatewayDatabase>,
    private readonly leaseSeconds: number,
  ) {
    this.claims = new GroupCommit((items) => idempotencyRecords.claimMany(db, items, leaseSeconds));
    this.answers = new GroupCommit<Answer, void>(async (items) => {
      await idempotencyRecords.completeMany(db, items);
      return items.map(() => undefined);
    });
  }

  async claim(scope: string, key: string, fingerprint: string): Promise<ClaimOutcome> {
    if (await this.claims.submit({ scope, key, fingerprint })) return { kind: 'claimed' };
    // The key has a record already (or another request of this group claimed it): say which case.
    return idempotencyRecords.claim(this.db, scope, key, fingerprint, this.leaseSeconds);
  }

  complete(scope: string, key: string, status: number, body: string): Promise<void> {
    return this.answers.submit({ scope, key, status, body });
  }

  release(scope: string, key: string): Promise<void> {
    return idempotencyRecords.release(this.db, scope, key);
  }
}
