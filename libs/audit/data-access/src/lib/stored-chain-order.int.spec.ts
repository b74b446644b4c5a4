import { Kysely } from 'kysely';
import { createDb, eventStoreMigrations, migrateToLatest } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { auditMigrations } from './migrations';
import { readChainRows } from './stored-chain';

describe('readChainRows', () => {
  let database: TestDatabase;
  let db: Kysely<any>;

  beforeAll(async () => {
    database = await createTestDatabase('audit_chain_rows');
    db = createDb(database.url, { poolSize: 2 });
    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('walks the log in numeric transaction order when transaction ids gain a digit (999 before 1000)', async () => {
    // Transaction ids are set explicitly here: a young server crosses 999 -> 1000 within minutes, and
    // an order taken from the text form of the id would put 1000 first and make the verifier cry "removed".
    for (const [tx, stream] of [['1000', 'agent-b'], ['999', 'agent-a'], ['10000', 'agent-c']]) {
      await db
        .insertInto('events')
        .values({ stream, stream_version: 1, type: 'AgentCreated', data: JSON.stringify({ stream }), metadata: JSON.stringify({ request_id: null }), org_id: 'org_1', transaction_id: tx })
        .execute();
    }
    const walked: string[] = [];
    for await (const row of readChainRows(db, 2)) walked.push(`${row.transaction_id}:${row.stream}`);
    expect(walked).toEqual(['999:agent-a', '1000:agent-b', '10000:agent-c']);
  });
});
