import { Kysely, RawBuilder, Transaction, sql } from 'kysely';
import type { EventRow, EventStoreDatabase } from './database';
import { LOG_START, LogCheckpoint, LogRow, checkpointOf, readLogAfter } from './log-reader';
import { ProcessorLag, watchProcessorLag } from './metrics';

export interface LogProcessorOptions<Row extends LogRow = EventRow> {
  /** Unique name: the lease and the checkpoint are keyed by it. */
  name: string;
  db: Kysely<any>;
  /** The select list the log is read with (see readLogAfter); default every column, as EventRow. */
  columns?: RawBuilder<unknown>;
  /** Handles one batch inside the transaction that also moves the checkpoint. */
  handle?: (events: readonly Row[], trx: Transaction<any>) => Promise<void>;
  /**
   * Instead of `handle`, for a processor whose effects are outside this database (the outbox relay
   * publishes): no transaction around the batch; the checkpoint moves once `deliver` returns, so a
   * crash in between delivers the batch again.
   */
  deliver?: (events: readonly Row[]) => Promise<void>;
  /**
   * The events the processor acts on (default: all). A batch with none of them is passed over
   * without a transaction; its checkpoint is stored at most every `idleCheckpointMs`, since passing
   * over it again after a crash changes nothing.
   */
  handles?: (event: Row) => boolean;
  /** How often a checkpoint that only passed over events the processor ignores is stored (default 1000). */
  idleCheckpointMs?: number;
  batchSize?: number;
  /** How long to wait before looking again when the log had nothing new. */
  pollIntervalMs?: number;
  /**
   * Wait `pollIntervalMs` after a batch smaller than `batchSize` too, so that under a steady stream
   * of appends the work gathers into fewer, larger batches (fewer transactions competing with the
   * writers) at the price of up to one poll interval of extra lag. Default false: follow at once.
   */
  gatherBatches?: boolean;
  /** How often a standby instance tries to take the lease. */
  leaseRetryMs?: number;
  onError?: (error: unknown) => void;
}

export interface LogProcessorStatus {
  name: string;
  leader: boolean;
  checkpoint: LogCheckpoint | null;
  lastBatchAt: Date | null;
}

/**
 * Follows the log in order and hands each batch to `handle`. Only one instance per name runs at a
 * time: the lease is a session advisory lock held on the connection that also runs the batches, so
 * losing the connection loses the lease and aborts the batch together. The checkpoint is written in
 * the batch's transaction (compare-and-set against the checkpoint this leader last stored, read once
 * when it takes the lease), so a crash mid-batch leaves the batch undone and it is read again from
 * the checkpoint on restart: nothing skipped, nothing applied twice. Looking at the log is one
 * statement outside any transaction: an idle poll costs one round trip, and a transaction is opened
 * only for a batch there is something to do with.
 */
export class LogProcessor<Row extends LogRow = EventRow> {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private unwatchLag: (() => void) | null = null;
  private readonly status: LogProcessorStatus;

  constructor(private readonly options: LogProcessorOptions<Row>) {
    if ((options.handle === undefined) === (options.deliver === undefined)) {
      throw new Error(`processor ${options.name}: give either handle or deliver`);
    }
    this.status = { name: options.name, leader: false, checkpoint: null, lastBatchAt: null };
  }

  get state(): Readonly<LogProcessorStatus> {
    return this.status;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unwatchLag = watchProcessorLag(this);
    this.loop = this.run();
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * How far behind the log this processor is: committed events after its checkpoint and the age of
   * the oldest of them. Only the instance holding the lease answers, so a metric is not reported twice.
   */
  async lag(): Promise<ProcessorLag | null> {
    const from = this.status.checkpoint;
    if (!this.status.leader || from === null) return null;
    const { rows } = await sql<{ events: string; seconds: number | null }>`
      select count(*) as events, extract(epoch from now() - min(recorded_at))::float8 as seconds
      from (
        select recorded_at from events
        where (transaction_id, position) > (${from.transactionId}::xid8, ${from.position}::bigint)
        limit 1000000
      ) pending`.execute(this.options.db);
    return { events: Number(rows[0]?.events ?? 0), seconds: Math.max(0, rows[0]?.seconds ?? 0) };
  }

  /** Stops after the batch in flight; resolves when the lease is released. */
  async stop(): Promise<void> {
    this.running = false;
    this.unwatchLag?.();
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  /** Look at the log now instead of after the poll interval (e.g. on a notification). */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.options.db.connection().execute(async (conn) => {
          const lease = await sql<{ locked: boolean }>`
            select pg_try_advisory_lock(hashtextextended(${'processor:' + this.options.name}, 0)) as locked`.execute(conn);
          if (!lease.rows[0]?.locked) return;
          this.status.leader = true;
          try {
            await this.leadWhileRunning(conn);
          } finally {
            this.status.leader = false;
            await sql`select pg_advisory_unlock(hashtextextended(${'processor:' + this.options.name}, 0))`
              .execute(conn)
              .catch(() => undefined);
          }
        });
      } catch (error) {
        this.status.leader = false;
        this.options.onError?.(error);
      }
      if (this.running) await this.sleep(this.options.leaseRetryMs ?? 1000);
    }
  }

  private async leadWhileRunning(conn: Kysely<any>): Promise<void> {
    const saved = await readCheckpoint(conn, this.options.name);
    const leader: Leader = { conn, stored: saved, at: saved ?? LOG_START, storedAtMs: Date.now() };
    this.status.checkpoint = leader.at;
    try {
      while (this.running) {
        const handled = await this.processBatch(leader);
        const partial = handled < (this.options.batchSize ?? 500);
        if ((handled === 0 || (partial && this.options.gatherBatches)) && this.running) await this.sleep(this.options.pollIntervalMs ?? 50);
      }
    } finally {
      // A checkpoint only passed over in memory is stored on the way out (best effort: if this
      // fails, the next leader passes over the same events again, which changes nothing).
      if (!sameCheckpoint(leader.stored, leader.at)) await this.storeCheckpoint(leader, conn).catch(() => undefined);
    }
  }

  /** Processes one batch; returns how many events it read. */
  private async processBatch(leader: Leader): Promise<number> {
    const from = leader.at;
    const events = await readLogAfter<Row>(leader.conn, from, this.options.batchSize ?? 500, this.options.columns);
    if (events.length === 0) return 0;
    const to = checkpointOf(events[events.length - 1]);
    const { handle, deliver, handles } = this.options;
    const relevant = handles ? events.filter(handles) : events;
    if (relevant.length === 0) {
      leader.at = to;
      if (Date.now() - leader.storedAtMs >= (this.options.idleCheckpointMs ?? 1000)) await this.storeCheckpoint(leader, leader.conn);
    } else if (deliver) {
      await deliver(relevant);
      leader.at = to;
      await this.storeCheckpoint(leader, leader.conn);
    } else if (handle) {
      await leader.conn.transaction().execute(async (trx) => {
        await handle(relevant, trx);
        await this.storeCheckpoint({ ...leader, at: to }, trx);
      });
      // Moved only once committed: a failed commit must not leave a checkpoint that was never stored.
      leader.at = to;
      leader.stored = to;
      leader.storedAtMs = Date.now();
    }
    this.status.checkpoint = leader.at;
    if (relevant.length > 0) this.status.lastBatchAt = new Date();
    return events.length;
  }

  /**
   * Stores `leader.at`, compare-and-set against what this leader stored last: if anyone else moved
   * the checkpoint meanwhile, the write (and the batch's transaction with it) fails.
   */
  private async storeCheckpoint(leader: Leader, db: Kysely<EventStoreDatabase>): Promise<void> {
    const { stored, at } = leader;
    const moved = stored
      ? await sql`
          update processor_checkpoints
          set transaction_id = ${at.transactionId}::xid8, position = ${at.position}, updated_at = now()
          where name = ${this.options.name} and transaction_id = ${stored.transactionId}::xid8 and position = ${stored.position}`.execute(db)
      : await sql`
          insert into processor_checkpoints (name, transaction_id, position, updated_at)
          values (${this.options.name}, ${at.transactionId}::xid8, ${at.position}, now())
          on conflict (name) do nothing`.execute(db);
    if (Number(moved.numAffectedRows ?? 0) !== 1) {
      throw new Error(`processor ${this.options.name}: checkpoint moved underneath us; batch rolled back`);
    }
    leader.stored = at;
    leader.storedAtMs = Date.now();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** What the leading instance knows: its connection, the checkpoint it stored last, and where it is. */
interface Leader {
  conn: Kysely<EventStoreDatabase>;
  stored: LogCheckpoint | null;
  at: LogCheckpoint;
  storedAtMs: number;
}

function sameCheckpoint(a: LogCheckpoint | null, b: LogCheckpoint): boolean {
  return a !== null && a.transactionId === b.transactionId && a.position === b.position;
}

/** Reads a processor's stored checkpoint (for lag metrics and tests). */
export async function readCheckpoint(db: Kysely<any>, name: string): Promise<LogCheckpoint | null> {
  const row = await (db as Kysely<EventStoreDatabase>)
    .selectFrom('processor_checkpoints')
    .select(['transaction_id', 'position'])
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? { transactionId: row.transaction_id, position: row.position } : null;
}
