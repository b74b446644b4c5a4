import { CompiledQuery, ControlledTransaction, Kysely, PostgresDialect, sql } from 'kysely';
import { Client, Pool } from 'pg';
import { createDb, EventMetadata, EventStore, eventStoreMigrations, LOG_START, migrateToLatest } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase, waitForLogHorizon } from '@keyledger/testing';
import { auditEventPlace, AuditEventRow, listAuditEvents } from './audit-queries';
import type { Visibility } from './keys-queries';

const ORG = 'org_auditqueries';
const acme: Visibility = { orgId: ORG, environment: 'test', agentId: null };
const meta = (agentId: string | null = null): EventMetadata => ({ request_id: 'req_audit_queries', actor_key_id: null, agent_id: agentId, ip: null, environment: 'test' });

/**
 * A client of `GET /v1/audit/events` as the gateway serves it: each page starts after the position
 * the client last saw (`next_cursor`, or the last item when it polls for more), `limit` items a page.
 */
class AuditPager {
  readonly seen: AuditEventRow[] = [];
  private after = 0;
  constructor(private readonly db: Kysely<any>, private readonly limit = 2) {}

  async page(): Promise<AuditEventRow[]> {
    const place = await auditEventPlace(this.db, acme, this.after);
    if (!place) throw new Error(`after=${this.after} was refused`);
    const rows = (await listAuditEvents(this.db, acme, { after: place }, this.limit + 1)).slice(0, this.limit);
    if (rows.length > 0) this.after = rows[rows.length - 1].position;
    this.seen.push(...rows);
    return rows;
  }

  /** Pages until a short page, as a client reading to the end does. */
  async toTheEnd(): Promise<void> {
    while ((await this.page()).length === this.limit);
  }
}

/** The gap-safe reading waits for the oldest running transaction of the whole server; another test's may delay it a little. */
async function pollUntil(poll: () => Promise<unknown>, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await poll();
    if (done()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for the listing');
    await new Promise((r) => setTimeout(r, 20));
  }
}

type PlanNode = Record<string, unknown> & { Plans?: PlanNode[] };
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

const streamsOf = (rows: readonly AuditEventRow[]) => rows.map((r) => r.stream);

// The gap-safe reading waits for every older writing transaction on the server, other suites' too.
jest.setTimeout(30_000);

describe('listAuditEvents: the audit listing in log order, gap-safe (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  // A single-connection pool of its own, so the held transaction stays open on its session.
  let holder: Kysely<any>;
  let store: EventStore;

  beforeAll(async () => {
    database = await createTestDatabase('audit_queries');
    db = createDb(database.url, { poolSize: 10, applicationName: 'audit-queries-spec' });
    holder = createDb(database.url, { poolSize: 1, applicationName: 'audit-queries-holder' });
    await migrateToLatest(db, [eventStoreMigrations]);
    // audit_chain belongs to the audit service's migrations; the listing only joins it for hashes.
    await sql`create table audit_chain (position bigint primary key, hash bytea not null, prev_hash bytea not null)`.execute(db);
    store = new EventStore(db);
  });

  afterAll(async () => {
    await Promise.all([holder?.destroy(), db?.destroy()]);
    await database?.drop();
  });

  /** A appends (the lower position) and stays open; B and C append after it and commit. */
  async function holdLowerPositionOpen(prefix: string): Promise<{ held: ControlledTransaction<any>; a: number; c: number }> {
    const held = await holder.startTransaction().execute();
    try {
      const [a] = (await store.append(`${prefix}-a`, 0, [{ type: 'Happened', data: {} }], meta(), { trx: held, orgId: ORG })).events;
      const [c] = (await store.append(`${prefix}-b`, 0, [{ type: 'Happened', data: {} }, { type: 'Happened', data: {} }], meta(), { orgId: ORG })).events.slice(-1);
      expect(c.position).toBeGreaterThan(a.position + 1); // the premise: A's position is lower than both committed ones
      const committed = await sql<{ n: number }>`select count(*)::int as n from events where stream = ${`${prefix}-b`}`.execute(db);
      expect(committed.rows[0].n).toBe(2);
      return { held, a: a.position, c: c.position };
    } catch (error) {
      await held.rollback().execute();
      throw error;
    }
  }

  it('does not list events committed after an open transaction’s lower position, and lists them all, once each, after it commits', async () => {
    await store.append('gap-first', 0, [{ type: 'Happened', data: {} }], meta(), { orgId: ORG });
    const client = new AuditPager(db);
    await pollUntil(() => client.page(), () => client.seen.length === 1);

    const { held, c } = await holdLowerPositionOpen('gap');
    try {
      // The later events are committed and visible, yet a page must not show them ahead of A.
      for (let i = 0; i < 10; i++) expect(streamsOf(await client.page())).toEqual([]);
      // Nor may a client resume after one of them (a position a write just returned, say): A would come before it, unseen.
      expect(await auditEventPlace(db, acme, c)).toBeNull();
    } finally {
      await held.commit().execute();
    }

    await pollUntil(() => client.toTheEnd(), () => client.seen.length >= 4);
    expect(streamsOf(client.seen)).toEqual(['gap-first', 'gap-a', 'gap-b', 'gap-b']);
    const positions = client.seen.map((r) => r.position);
    expect(new Set(positions).size).toBe(positions.length);
    await client.toTheEnd();
    expect(client.seen).toHaveLength(4);
  });

  it('after a rollback, pages on from the cursor with the committed events and nothing else', async () => {
    const client = new AuditPager(db);
    await pollUntil(() => client.toTheEnd(), () => client.seen.length >= 4);
    client.seen.length = 0;

    const { held } = await holdLowerPositionOpen('rolled');
    try {
      expect(await client.page()).toEqual([]);
    } finally {
      await held.rollback().execute();
    }
    await pollUntil(() => client.toTheEnd(), () => client.seen.length >= 2);
    expect(streamsOf(client.seen)).toEqual(['rolled-b', 'rolled-b']);
  });

  it('places a listing after an event the caller sees only: its organization’s, its environment’s, an agent key’s agent’s', async () => {
    const [own] = (await store.append('place-own', 0, [{ type: 'Happened', data: {} }], meta(), { orgId: ORG })).events;
    const [other] = (await store.append('place-other', 0, [{ type: 'Happened', data: {} }], meta(), { orgId: 'org_someoneelse' })).events;
    const [live] = (await store.append('place-live', 0, [{ type: 'Happened', data: {} }], { ...meta(), environment: 'live' }, { orgId: ORG })).events;
    const [orgWide] = (await store.append('place-org', 0, [{ type: 'Happened', data: {} }], { ...meta(), environment: undefined }, { orgId: ORG })).events;
    const [ofAgent] = (await store.append('place-agent', 0, [{ type: 'Happened', data: { agent_id: 'agt_placed' } }], meta(), { orgId: ORG })).events;
    // Each is listed once no transaction begun before it is still running (another suite's may be, for a moment).
    await waitForLogHorizon(db);
    expect(await auditEventPlace(db, acme, 0)).toEqual(LOG_START);
    expect(await auditEventPlace(db, acme, own.position)).toEqual({ transactionId: own.transaction_id, position: own.position });
    expect(await auditEventPlace(db, acme, other.position)).toBeNull();
    expect(await auditEventPlace(db, acme, other.position + 1000)).toBeNull();
    // The org's other environment is refused like another org; an event naming no environment is in both.
    expect(await auditEventPlace(db, acme, live.position)).toBeNull();
    expect(await auditEventPlace(db, { ...acme, environment: 'live' }, live.position)).not.toBeNull();
    expect(await auditEventPlace(db, { ...acme, environment: 'live' }, orgWide.position)).not.toBeNull();
    expect(await auditEventPlace(db, acme, orgWide.position)).not.toBeNull();
    // An agent key: its agent's events only.
    expect(await auditEventPlace(db, { ...acme, agentId: 'agt_placed' }, ofAgent.position)).not.toBeNull();
    expect(await auditEventPlace(db, { ...acme, agentId: 'agt_placed' }, own.position)).toBeNull();
  });

  it('an agent filter narrows what an agent-bound key sees, never widens it', async () => {
    await store.append('agent-own', 0, [{ type: 'Happened', data: { agent_id: 'agt_own' } }], meta('agt_own'), { orgId: ORG });
    await store.append('agent-other', 0, [{ type: 'Happened', data: { agent_id: 'agt_other' } }], meta('agt_other'), { orgId: ORG });
    const agentKey: Visibility = { ...acme, agentId: 'agt_own' };
    const list = async (visibility: Visibility, agentId?: string) =>
      streamsOf(await listAuditEvents(db, visibility, { after: LOG_START, agentId }, 1000)).filter((s) => s.startsWith('agent-'));
    let all: string[] = [];
    await pollUntil(async () => (all = await list(acme)), () => all.length === 2);
    expect(await list(acme, 'agt_other')).toEqual(['agent-other']);
    expect(await list(agentKey)).toEqual(['agent-own']);
    expect(await list(agentKey, 'agt_own')).toEqual(['agent-own']);
    expect(await list(agentKey, 'agt_other')).toEqual([]);
  });

  it('reads a page through the (org_id, transaction_id) index from the org and transaction of `after` on, never the table', async () => {
    // Enough rows, of one big org and many small ones, in many transactions, that reading the table would lose.
    for (let t = 0; t < 40; t++) {
      await sql`
        insert into events (stream, stream_version, type, data, metadata, org_id)
        select 'bulk-' || ${t} || '-' || g, 1, 'Happened', '{}', '{"environment": "test"}', case when g % 4 = 0 then 'org_bulk' else 'org_small_' || (g % 100) end
        from generate_series(1, 1000) g`.execute(db);
    }
    await sql`analyze events`.execute(db);
    const [middle] = (await sql<{ position: number }>`select position from events where org_id = 'org_bulk' order by transaction_id, position offset 5000 limit 1`.execute(db)).rows;
    const bulk: Visibility = { orgId: 'org_bulk', environment: 'test', agentId: null };
    const after = await auditEventPlace(db, bulk, middle.position);
    expect(after).not.toBeNull();

    // EXPLAIN the very statement listAuditEvents sends.
    const sent: CompiledQuery[] = [];
    const recorder = new Kysely<any>({
      dialect: new PostgresDialect({ pool: new Pool({ connectionString: database.url, max: 1 }) }),
      log: (event) => {
        if (event.level === 'query') sent.push(event.query);
      },
    });
    try {
      await listAuditEvents(recorder, bulk, { after: after! }, 21);
    } finally {
      await recorder.destroy();
    }
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query(`explain (format json) ${sent[0].sql}`, sent[0].parameters as unknown[]);
      // However the planner fetches the page, every read of events goes through the new index, with
      // the org and the transaction of `after` as the index condition, never a scan of the table.
      const eventsReads = nodesOf(rows[0]['QUERY PLAN'][0].Plan).filter((node) => node['Relation Name'] === 'events' || String(node['Index Name']).startsWith('events'));
      expect(eventsReads.map((node) => node['Node Type'])).not.toContain('Seq Scan');
      const indexReads = eventsReads.filter((node) => node['Index Name']);
      expect(indexReads.map((node) => node['Index Name'])).toEqual(['events_org_log_order']);
      expect(indexReads[0]['Index Cond']).toContain(`(org_id = 'org_bulk'::text)`);
      expect(indexReads[0]['Index Cond']).toContain(`(transaction_id >= '${after!.transactionId}'::xid8)`);
    } finally {
      await client.end();
    }
  });
});
