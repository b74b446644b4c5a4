import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kysely, sql } from 'kysely';
import { ChainRow, GENESIS_HASH, chainHash, generateSigningSeed, parseSigningKey, rawPublicKey } from '@keyledger/audit-domain';
import { chainEvents, chainHeadPlace, exportedEvent, readChainRows, readChainSource, signHeadIfDue } from '@keyledger/audit-data-access';
import { createDb, EventStore } from '@keyledger/event-store';
import { createTestDatabase, REPO_ROOT, TestDatabase, waitFor } from '@keyledger/testing';

const CLI = join(REPO_ROOT, 'dist/apps/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], databaseUrl: string): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each case starts the CLI as a process (several in the export case): seconds each on a busy machine.
jest.setTimeout(60_000);

describe('keyledger audit verify (a real process over a tampered log)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  const key = parseSigningKey(generateSigningSeed());
  const pinned = rawPublicKey(key).toString('base64');
  const verify = (...extra: string[]) => cli(['audit', 'verify', '--public-key', pinned, ...extra], database.url);

  /** Runs SQL as the table owner with a table's append-only trigger off, as an attacker with the owner's rights would. */
  async function withTriggerOff(table: 'events' | 'audit_chain', statement: ReturnType<typeof sql>): Promise<void> {
    const trigger = sql.ref(table === 'events' ? 'events_no_update_delete' : 'audit_chain_no_update_delete');
    await sql`alter table ${sql.table(table)} disable trigger ${trigger}`.execute(db);
    try {
      await statement.execute(db);
    } finally {
      await sql`alter table ${sql.table(table)} enable trigger ${trigger}`.execute(db);
    }
  }
  const tamper = (statement: ReturnType<typeof sql>) => withTriggerOff('events', statement);
  /** The same for the chain's own links. */
  const tamperChain = (statement: ReturnType<typeof sql>) => withTriggerOff('audit_chain', statement);

  /** Chains every committed event, as the chainer does (the gap-safe read waits out other transactions on the server). */
  async function chainEverything(): Promise<void> {
    await waitFor(
      'every event chained',
      async () => {
        await db.transaction().execute(async (trx) => {
          await chainEvents(trx, await readChainSource(trx, await chainHeadPlace(trx), 1000));
        });
        const pending = await sql<{ n: number }>`select count(*)::bigint as n from events e where not exists (select 1 from audit_chain c where c.position = e.position)`.execute(db);
        return pending.rows[0].n === 0;
      },
      60_000,
      50,
    );
  }
  const signHead = () => db.transaction().execute((trx) => signHeadIfDue(trx, key, { everyEvents: 1, everyMs: 0 }, new Date()));

  beforeAll(async () => {
    database = await createTestDatabase('audit_verify');
    const migrated = await cli(['migrate'], database.url);
    expect(migrated.code).toBe(0);
    db = createDb(database.url, { poolSize: 2 });
    const store = new EventStore(db);
    // 32 events, each appended in its own transaction, across orgs and streams; the last two are
    // chained but not signed yet, as between two checkpoints of the chainer.
    for (let i = 1; i <= 32; i++) {
      const org = `org_${i % 3}`;
      await store.append(
        `agent-agt_${i % 7}`,
        'any',
        [{ type: 'AgentUpdated', data: { agent_id: `agt_${i % 7}`, name: `agent ${i}`, metadata: { n: i, note: 'é €' } } }],
        { request_id: `req_${i}`, actor_key_id: 'key_1', agent_id: null, ip: '127.0.0.1', environment: 'test' },
        { orgId: org },
      );
      if (i === 20 || i === 30) {
        await chainEverything();
        await signHead();
      }
    }
    await chainEverything();
    await sql`create table events_pristine as select * from events`.execute(db);
    await sql`create table audit_chain_pristine as select * from audit_chain`.execute(db);
    await sql`create table audit_checkpoints_pristine as select * from audit_checkpoints`.execute(db);
  }, 120_000);

  afterEach(async () => {
    // Put the log back as it was for the next case.
    await tamper(sql`delete from events`);
    await tamper(sql`insert into events overriding system value select * from events_pristine`);
    await tamperChain(sql`delete from audit_chain`);
    await tamperChain(sql`insert into audit_chain select * from audit_chain_pristine`);
    await sql`delete from audit_checkpoints`.execute(db);
    await sql`insert into audit_checkpoints overriding system value select * from audit_checkpoints_pristine`.execute(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('passes an untouched log: every event verified, both checkpoints checked, the unsigned tail counted', async () => {
    const run = await verify();
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain('chain intact: 32 events verified');
    expect(run.stdout).toContain('2 signed checkpoints verified; latest at position 30');
    expect(run.stdout).toContain('2 events after the latest checkpoint are not covered by a signature yet');
    // An auditor who knows the checkpoint interval bounds the unsigned tail.
    expect(await verify('--max-unsigned', '2')).toMatchObject({ code: 0 });
    const tooLong = await verify('--max-unsigned', '1');
    expect(tooLong).toMatchObject({ code: 1 });
    expect(tooLong.stdout).toContain('TAMPERED: first bad position 31: unsigned');
    expect(tooLong.stdout).toContain('more than the 1 allowed');
    expect(await verify('--max-unsigned', 'some')).toMatchObject({ code: 1 });
  });

  it('names an event whose data was changed', async () => {
    await tamper(sql`update events set data = jsonb_set(data, '{name}', '"mallory"') where position = 7`);
    const run = await verify();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('first bad position 7: altered');
  });

  it('names an event whose stored link was rewritten to match altered data', async () => {
    // The attacker changes an event and recomputes its hash; the next link still names the old one.
    await tamper(sql`update events set data = jsonb_set(data, '{name}', '"mallory"') where position = 23`);
    await tamperChain(sql`update audit_chain set hash = sha256(hash) where position = 23`);
    const run = await verify();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('first bad position 23: altered');
  });

  it('names a deleted event', async () => {
    await tamper(sql`delete from events where position = 12`);
    const run = await verify();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('first bad position 12: removed');
  });

  it('names an event slipped into the middle of the log', async () => {
    await tamper(sql`
      insert into events (stream, stream_version, type, data, metadata, org_id, transaction_id)
      select 'agent-agt_forged', 1, 'AgentUpdated', '{"agent_id": "agt_forged"}', metadata, org_id, transaction_id from events where position = 9`);
    const forged = await sql<{ position: number }>`select position from events where stream = 'agent-agt_forged'`.execute(db);
    const run = await verify();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`first bad position ${forged.rows[0].position}: inserted`);
  });

  it('names two events swapped in log order', async () => {
    await tamper(sql`
      update events e set transaction_id = o.transaction_id
      from events o where (e.position, o.position) in ((5, 15), (15, 5))`);
    const run = await verify();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('first bad position 5: reordered');
  });

  it('detects a forged checkpoint signature', async () => {
    await sql`update audit_checkpoints set signature = ${Buffer.alloc(64, 1)} where position = 20`.execute(db);
    const run = await verify();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('first bad position 20: bad_signature');
  });

  it('exports the log and verifies the file offline against the pinned key; an edited line is caught', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyledger-audit-'));
    const file = join(dir, 'log.ndjson');
    const exported = await cli(['audit', 'export', '--out', file], database.url);
    expect(exported).toMatchObject({ code: 0 });
    expect(exported.stdout).toContain('exported 32 events and 2 checkpoints');
    const offline = await cli(['audit', 'verify', '--file', file, '--public-key', pinned], 'postgres://nobody@127.0.0.1:1/none');
    expect(offline).toMatchObject({ code: 0 });
    expect(offline.stdout).toContain('chain intact: 32 events verified');
    expect(offline.stdout).toContain('2 events after the latest checkpoint are not covered by a signature yet');

    const lines = readFileSync(file, 'utf8').split('\n');
    const index = lines.findIndex((line) => line.includes('"position":17,'));
    lines[index] = lines[index].replace('"agent 17"', '"agent 71"');
    writeFileSync(join(dir, 'edited.ndjson'), lines.join('\n'));
    const edited = await cli(['audit', 'verify', '--file', join(dir, 'edited.ndjson'), '--public-key', pinned], 'postgres://nobody@127.0.0.1:1/none');
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain('first bad position 17: altered');

    const otherKey = rawPublicKey(parseSigningKey(generateSigningSeed())).toString('base64');
    const wrongKey = await cli(['audit', 'verify', '--file', file, '--public-key', otherKey], 'postgres://nobody@127.0.0.1:1/none');
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toContain('bad_signature');
  });

  it('fails a database chain rechained by hand after its checkpoints were deleted, against the pinned key', async () => {
    // The table owner's forgery: change an event, drop every signature, recompute every link from the genesis.
    await tamper(sql`update events set data = jsonb_set(data, '{name}', '"mallory"') where position = 7`);
    await sql`delete from audit_checkpoints`.execute(db);
    const links: { position: number; hash: Buffer; prev_hash: Buffer }[] = [];
    let prev = GENESIS_HASH;
    for await (const row of readChainRows(db)) {
      const hash = chainHash(prev, row);
      links.push({ position: row.position, hash, prev_hash: prev });
      prev = hash;
    }
    await tamperChain(sql`delete from audit_chain`);
    await db.insertInto('audit_chain').values(links).execute();

    const run = await verify();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('first bad position 1: unsigned');
    expect(run.stdout).toContain('no checkpoint signed by the pinned key covers any event');
  });

  it('fails a made-up export without checkpoints, and an empty file, against a pinned key that signed nothing in them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyledger-audit-'));
    const events: string[] = [];
    let prev = GENESIS_HASH;
    for (let i = 1; i <= 3; i++) {
      const row: ChainRow = {
        position: i,
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        stream: 'agent-agt_made_up',
        stream_version: i,
        type: 'AgentUpdated',
        schema_version: 1,
        data: { agent_id: 'agt_made_up', name: `made up ${i}` },
        metadata: { request_id: `req_${i}`, actor_key_id: null, agent_id: null, ip: '127.0.0.1' },
        org_id: 'org_1',
        recorded_at: new Date(Date.UTC(2026, 10, 22, 10, 0, i)),
        transaction_id: String(1000 + i),
        hash: null,
        prev_hash: prev,
      };
      row.hash = chainHash(prev, row);
      prev = row.hash;
      events.push(JSON.stringify(exportedEvent(row)));
    }
    writeFileSync(join(dir, 'forged.ndjson'), events.join('\n') + '\n');
    writeFileSync(join(dir, 'empty.ndjson'), '');
    const unrelated = rawPublicKey(parseSigningKey(generateSigningSeed())).toString('base64');
    const offline = (file: string) => cli(['audit', 'verify', '--file', join(dir, file), '--public-key', unrelated], 'postgres://nobody@127.0.0.1:1/none');

    const forged = await offline('forged.ndjson');
    expect(forged.code).toBe(1);
    expect(forged.stdout).toContain('first bad position 1: unsigned');
    expect(forged.stdout).toContain('no checkpoint signed by the pinned key covers any event');
    const empty = await offline('empty.ndjson');
    expect(empty.code).toBe(1);
    expect(empty.stdout).toContain('first bad position 0: unsigned');
    expect(empty.stdout).toContain('there are no events and no checkpoint');
  });
});
