import { Kysely, Transaction, sql } from 'kysely';
import type { EventMetadata, EventRow, EventStoreDatabase } from './database';
import { WrongExpectedVersionError } from './errors';
import { appendDuration } from './metrics';

export interface NewEvent {
  type: string;
  data: object;
  /** Version of this event type's data shape; consumers upcast older ones. */
  schemaVersion?: number;
  /** This event's own metadata, when one append carries events of several commands (group commit). */
  metadata?: EventMetadata;
}

/** `0` means the stream must not exist yet; `'any'` skips the check. */
export type ExpectedVersion = number | 'any';

export interface AppendOptions {
  /** Append inside the caller's transaction, so its inline projection commits with the events. */
  trx?: Transaction<any>;
  orgId?: string | null;
}

export interface AppendResult {
  nextExpectedVersion: number;
  events: EventRow[];
}

const UNIQUE_VIOLATION = '23505';

/** Category of a stream: the part before the first `-` (`key-key_123` → `key`). */
export function streamCategory(stream: string): string {
  const dash = stream.indexOf('-');
  return dash === -1 ? stream : stream.slice(0, dash);
}

export class EventStore {
  constructor(private readonly db: Kysely<EventStoreDatabase>) {}

  /**
   * Appends events to one stream in one transaction. Optimistic concurrency: if the stream is not at
   * `expectedVersion`, nothing is written and a WrongExpectedVersionError is thrown. The unique
   * `(stream, stream_version)` constraint makes that hold for concurrent appenders too.
   */
  async append(
    stream: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    metadata: EventMetadata,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('append needs at least one event');
    const timer = appendDuration.startTimer({ category: streamCategory(stream) });
    try {
      if (options.trx) return await this.appendIn(options.trx, stream, expectedVersion, events, metadata, options.orgId ?? null);
      // With an expected version the append is one atomic statement: no transaction round trips.
      if (expectedVersion !== 'any') return await this.appendIn(this.db, stream, expectedVersion, events, metadata, options.orgId ?? null);
      return await this.db.transaction().execute((trx) =>
        this.appendIn(trx, stream, expectedVersion, events, metadata, options.orgId ?? null),
      );
    } finally {
      timer();
    }
  }

  /** Current version of a stream (0 when it has no events). */
  async streamVersion(stream: string, trx?: Transaction<any> | Kysely<EventStoreDatabase>): Promise<number> {
    const db = (trx ?? this.db) as Kysely<EventStoreDatabase>;
    const row = await db
      .selectFrom('events')
      .select((eb) => eb.fn.max('stream_version').as('version'))
      .where('stream', '=', stream)
      .executeTakeFirst();
    return row?.version ?? 0;
  }

  /** Every event of one stream, in version order. */
  async readStream(stream: string, trx?: Transaction<any>): Promise<EventRow[]> {
    const db = (trx ?? this.db) as Kysely<EventStoreDatabase>;
    return db.selectFrom('events').selectAll().where('stream', '=', stream).orderBy('stream_version').execute();
  }

  private async appendIn(
    trx: Transaction<any> | Kysely<EventStoreDatabase>,
    stream: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    metadata: EventMetadata,
    orgId: string | null,
  ): Promise<AppendResult> {
    const db = trx as Transaction<EventStoreDatabase>;
    let expected: number;
    if (expectedVersion === 'any') {
      // 'any' has no version to race on, so appenders to the stream take turns instead.
      await sql`select pg_advisory_xact_lock(hashtextextended(${stream}, 0))`.execute(db);
      expected = await this.streamVersion(stream, trx);
    } else {
      expected = expectedVersion;
    }
    // One statement checks the version and inserts: the rows go in only if the stream is at
    // `expected`, and the unique (stream, stream_version) settles concurrent appenders.
    const values = sql.join(
      events.map(
        (event, i) =>
          sql`(${i + 1}::int, ${event.type}::text, ${event.schemaVersion ?? 1}::smallint, ${JSON.stringify(event.data)}::jsonb, ${JSON.stringify(event.metadata ?? metadata)}::jsonb)`,
      ),
    );
    try {
      const inserted = await sql<EventRow>`
        insert into events (stream, stream_version, type, schema_version, data, metadata, org_id)
        select ${stream}, ${expected}::int + v.ord, v.type, v.schema_version, v.data, v.metadata, ${orgId}::text
        from (values ${values}) as v(ord, type, schema_version, data, metadata)
        where coalesce((select max(stream_version) from events where stream = ${stream}), 0) = ${expected}::int
        returning *`.execute(db);
      if (inserted.rows.length === 0) {
        throw new WrongExpectedVersionError(stream, expected, await this.streamVersion(stream, trx));
      }
      const rows = [...inserted.rows].sort((x, y) => x.stream_version - y.stream_version);
      return { nextExpectedVersion: expected + events.length, events: rows };
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION && (error as { constraint?: string }).constraint === 'events_stream_version_unique') {
        throw new WrongExpectedVersionError(stream, expected, null);
      }
      throw error;
    }
  }
}
