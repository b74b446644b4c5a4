import { Kysely, sql } from 'kysely';

/** Advisory-lock namespaces (the two-int form, so they never meet the bigint locks used elsewhere). */
const NS_MEMBER = 0x524c01;
const NS_PARTITION = 0x524c02;
const MEMBER_SLOTS = 1024;

export interface PartitionLeasesOptions {
  db: Kysely<any>;
  partitions: number;
  /** How often ownership is looked at again (and the session proven alive). */
  pollMs: number;
  /** Time given to instances starting together to see each other before taking partitions. */
  settleMs: number;
  onAcquire(partition: number): void;
  onRelease(partition: number): void;
  onError(error: unknown): void;
}

/**
 * Which rate-limit partitions this instance owns. A partition is owned by holding the session
 * advisory lock (NS_PARTITION, n) on one dedicated Postgres connection; Postgres grants it to one
 * session at a time, and frees every lock of a session the moment that session ends (process
 * killed, connection lost). Each live instance also holds one member lock, so every instance can
 * count the live ones and take its fair share, ceil(partitions / members), of the partitions nobody
 * holds. Partitions never move between live instances (that would reset their counters): a
 * newcomer only takes what is free, e.g. what a dead instance left.
 */
export class PartitionLeases {
  private readonly held = new Set<number>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private firstRound: (() => void) | null = null;

  constructor(private readonly options: PartitionLeasesOptions) {}

  get owned(): ReadonlySet<number> {
    return this.held;
  }

  /** Starts, and resolves once the first round of taking partitions is over. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    const ready = new Promise<void>((resolve) => (this.firstRound = resolve));
    this.loop = this.run();
    return ready;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.options.db.connection().execute(async (conn) => {
          try {
            await this.holdSession(conn);
          } finally {
            this.releaseAll();
            // On a session that is still alive, give the locks back rather than leave them on a pooled connection.
            await sql`select pg_advisory_unlock_all()`.execute(conn).catch(() => undefined);
          }
        });
      } catch (error) {
        this.options.onError(error);
      }
      this.firstRound?.();
      if (this.running) await this.sleep(this.options.pollMs);
    }
  }

  private async holdSession(conn: Kysely<any>): Promise<void> {
    const member = await this.joinAsMember(conn);
    if (member === null) throw new Error('no free rate-limiter member slot');
    await this.sleep(this.options.settleMs);
    while (this.running) {
      await this.takeFairShare(conn);
      this.firstRound?.();
      this.firstRound = null;
      await this.sleep(this.options.pollMs);
    }
  }

  private async joinAsMember(conn: Kysely<any>): Promise<number | null> {
    for (let slot = 0; slot < MEMBER_SLOTS; slot++) {
      const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${NS_MEMBER}::int, ${slot}::int) as ok`.execute(conn);
      if (rows[0]?.ok) return slot;
    }
    return null;
  }

  /** One look at who holds what (this query also proves the session alive), then take free partitions up to the share. */
  private async takeFairShare(conn: Kysely<any>): Promise<void> {
    const { rows } = await sql<{ ns: number; key: number }>`
      select classid::int as ns, objid::int as key from pg_locks
      where locktype = 'advisory' and granted and objsubid = 2
        and database = (select oid from pg_database where datname = current_database())
        and classid in (${NS_MEMBER}::oid, ${NS_PARTITION}::oid)`.execute(conn);
    const members = Math.max(1, rows.filter((r) => r.ns === NS_MEMBER).length);
    const taken = new Set(rows.filter((r) => r.ns === NS_PARTITION).map((r) => r.key));
    const share = Math.ceil(this.options.partitions / members);
    for (let p = 0; p < this.options.partitions && this.held.size < share; p++) {
      if (taken.has(p) || this.held.has(p)) continue;
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${NS_PARTITION}::int, ${p}::int) as ok`.execute(conn);
      if (!lock.rows[0]?.ok) continue;
      this.held.add(p);
      this.options.onAcquire(p);
    }
  }

  private releaseAll(): void {
    for (const p of this.held) this.options.onRelease(p);
    this.held.clear();
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
