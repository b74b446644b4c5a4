import { Kysely, Transaction, sql } from 'kysely';
import type { EventRow, EventStoreDatabase } from './database';
import { LOG_START, LogCheckpoint, checkpointOf, readLogAfter } from './log-reader';
import { ProcessorLag, watchProcessorLag } from './metrics';

export interface LogProcessorOptions {
  /** Unique name: the lease and the checkpoint are keyed by it. */
  name: string;
  db: Kysely<any>;
  /** Handles one batch inside the transaction that also moves the checkpoint. */
  handle: (events: readonly EventRow[], trx: Transaction<any>) => Promise<void>;
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
 * the batch's transaction (compare-and-set), so a crash mid-batch leaves the batch undone and it is
 * read again from the checkpoint on restart: nothing skipped, nothing applied twice.
 */
export class LogProcessor {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private unwatchLag: (() => void) | null = null;
  private readonly status: LogProcessorStatus;

  constructor(private readonly options: LogProcessorOptions) {
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
    while (this.running) {
      const handled = await this.processBatch(conn);
      const partial = handled < (this.options.batchSize ?? 500);
      if ((handled === 0 || (partial && this.options.gatherBatches)) && this.running) await this.sleep(this.options.pollIntervalMs ?? 50);
    }
  }

  /** Processes one batch; returns how many events it handled. */
  private async processBatch(conn: Kysely<any>): Promise<number> {
    const batch = await conn.transaction().execute(async (trx) => {
      const db = trx as Transaction<EventStoreDatabase>;
      const saved = await db
        .selectFrom('processor_checkpoints')
        .select(['transaction_id', 'position'])
        .where('name', '=', this.options.name)
        .executeTakeFirst();
      const from: LogCheckpoint = saved ? { transactionId: saved.transaction_id, position: saved.position } : LOG_START;
      const events = await readLogAfter(trx, from, this.options.batchSize ?? 500);
      if (events.length === 0) return { handled: 0, checkpoint: from };
      await this.options.handle(events, trx);
      const to = checkpointOf(events[events.length - 1]);
      const moved = await sql`
        insert into processor_checkpoints as c (name, transaction_id, position, updated_at)
        values (${this.options.name}, ${to.transactionId}::xid8, ${to.position}, now())
        on conflict (name) do update
          set transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()
          where c.transaction_id = ${from.transactionId}::xid8 and c.position = ${from.position}`.execute(trx);
      if (Number(moved.numAffectedRows ?? 0) !== 1) {
        throw new Error(`processor ${this.options.name}: checkpoint moved underneath us; batch rolled back`);
      }
      return { handled: events.length, checkpoint: to };
    });
    // Reported only once committed: a failed commit must not show a checkpoint that was never stored.
    this.status.checkpoint = batch.checkpoint;
    if (batch.handled > 0) this.status.lastBatchAt = new Date();
    return batch.handled;
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

/** Reads a processor's stored checkpoint (for lag metrics and tests). */
export async function readCheckpoint(db: Kysely<any>, name: string): Promise<LogCheckpoint | null> {
  const row = await (db as Kysely<EventStoreDatabase>)
    .selectFrom('processor_checkpoints')
    .select(['transaction_id', 'position'])
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? { transactionId: row.transaction_id, position: row.position } : null;
}
