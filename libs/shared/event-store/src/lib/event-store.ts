import { Kysely, Transaction, sql } from 'kysely';
import type { EventMetadata, EventRow, EventStoreDatabase } from './database';
import { WrongExpectedVersionError } from './errors';

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
    if (options.trx) return this.appendIn(options.trx, stream, expectedVersion, events, metadata, options.orgId ?? null);
    return this.db.transaction().execute((trx) =>
      this.appendIn(trx, stream, expectedVersion, events, metadata, options.orgId ?? null),
    );
  }

  /** Current version of a stream (0 when it has no events). */
  async streamVersion(stream: string, trx?: Transaction<any>): Promise<number> {
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
    trx: Transaction<any>,
    stream: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    metadata: EventMetadata,
    orgId: string | null,
  ): Promise<AppendResult> {
    const db = trx as Transaction<EventStoreDatabase>;
    // 'any' has no version to race on, so appenders to the stream take turns instead.
    if (expectedVersion === 'any') await sql`select pg_advisory_xact_lock(hashtextextended(${stream}, 0))`.execute(db);
    const current = await this.streamVersion(stream, trx);
    if (expectedVersion !== 'any' && current !== expectedVersion) {
      throw new WrongExpectedVersionError(stream, expectedVersion, current);
    }
    const rows = events.map((event, i) => ({
      stream,
      stream_version: current + 1 + i,
      type: event.type,
      schema_version: event.schemaVersion ?? 1,
      data: JSON.stringify(event.data),
      metadata: JSON.stringify(event.metadata ?? metadata),
      org_id: orgId,
    }));
    try {
      const inserted = await db.insertInto('events').values(rows).returningAll().execute();
      return { nextExpectedVersion: current + events.length, events: inserted };
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION &&
          (error as { constraint?: string }).constraint === 'events_stream_version_unique') {
        throw new WrongExpectedVersionError(stream, expectedVersion === 'any' ? current : expectedVersion, null);
      }
      throw error;
    }
  }
}
