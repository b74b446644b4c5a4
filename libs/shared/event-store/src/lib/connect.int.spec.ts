import { Kysely, sql } from 'kysely';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { createDb } from './connect';

jest.setTimeout(30_000);

describe('createDb: statements with parameters run prepared (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;

  beforeAll(async () => {
    database = await createTestDatabase('connect');
    db = createDb(database.url, { poolSize: 1, applicationName: 'connect-spec' });
    await sql`create table wallets (id text primary key, amount bigint not null)`.execute(db);
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  const prepared = async () =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements order by prepare_time`.execute(db)).rows.map((r) => r.statement);

  it('prepares a statement once per connection and reuses it, with the same answers', async () => {
    for (let i = 1; i <= 3; i++) await sql`insert into wallets (id, amount) values (${`w${i}`}, ${i * 10})`.execute(db);
    const total = await sql<{ total: number }>`select sum(amount)::bigint as total from wallets where amount >= ${10}`.execute(db);
    expect(total.rows[0].total).toBe(60);
    const statements = await prepared();
    expect(statements.filter((s) => s.startsWith('insert into wallets'))).toHaveLength(1);
    expect(statements.some((s) => s.startsWith('select sum(amount)'))).toBe(true);
  });

  it('leaves result columns taken from * unprepared, so a migration adding a column breaks nothing', async () => {
    const star = () => sql<Record<string, unknown>>`select * from wallets where id = ${'w1'}`.execute(db);
    const wrapped = () => sql<{ r: Record<string, unknown> }>`select to_jsonb(w) as r from (select * from wallets where id = ${'w1'}) w`.execute(db);
    expect((await star()).rows[0]).toEqual({ id: 'w1', amount: 10 });
    expect((await wrapped()).rows[0].r).toEqual({ id: 'w1', amount: 10 });
    await sql`alter table wallets add column note text`.execute(db);
    expect((await star()).rows[0]).toEqual({ id: 'w1', amount: 10, note: null });
    expect((await wrapped()).rows[0].r).toEqual({ id: 'w1', amount: 10, note: null });
    const statements = await prepared();
    expect(statements.some((s) => s.startsWith('select * from wallets'))).toBe(false);
    expect(statements.some((s) => s.startsWith('select to_jsonb(w)'))).toBe(true);
  });
});
