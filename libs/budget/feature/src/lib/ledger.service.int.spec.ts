import { Kysely, sql } from 'kysely';
import { connect, NatsConnection } from 'nats';
import pino from 'pino';
import type { Caller, CommandMeta } from '@keyledger/contracts';
import { BUDGET_READ_MODEL_TABLES, budgetMigrations, projectBudgetEvents } from '@keyledger/budget-data-access';
import { createDb, EventStore, eventStoreMigrations, migrateToLatest } from '@keyledger/event-store';
import { CommandRunner } from '@keyledger/nest';
import { createTestDatabase, TestDatabase, testNatsUrl } from '@keyledger/testing';
import { LedgerService } from './ledger.service';
import { WalletBatcher } from './wallet-batcher';

const meta: CommandMeta = { request_id: 'req_test', actor_key_id: null, agent_id: null, ip: null, idempotency_key: null };
const caller: Caller = { org_id: 'org_int', key_id: 'key_int', environment: 'test', scopes: ['*'], agent_id: null };
const DAY = 86_400_000;

describe('budget ledger service (real Postgres and NATS)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  let nats: NatsConnection;
  let ledger: LedgerService;

  beforeAll(async () => {
    database = await createTestDatabase('ledger_int');
    db = createDb(database.url);
    await migrateToLatest(db, [eventStoreMigrations, budgetMigrations]);
    // The agents read model belongs to the key-registry; here only its rows the ledger reads.
    await sql`create table agents (id text primary key, org_id text not null, environment text not null, name text not null,
      metadata jsonb not null, status text not null, paused_until timestamptz, created_at timestamptz not null, version bigint not null)`.execute(db);
    nats = await connect({ servers: testNatsUrl() });
    const logger = pino({ level: 'silent' });
    const runner = new CommandRunner(db, new EventStore(db), nats, logger, projectBudgetEvents);
    ledger = new LedgerService(new WalletBatcher(runner, logger), db);
  });

  afterAll(async () => {
    await nats?.close();
    await db?.destroy();
    await database?.drop();
  });

  async function agent(id: string) {
    await db
      .insertInto('agents')
      .values({ id, org_id: caller.org_id, environment: 'test', name: id, metadata: '{}', status: 'active', paused_until: null, created_at: new Date(), version: 1 })
      .execute();
    return id;
  }

  it('expires a hold after exactly 7 days by the clock it is given, once, and then it cannot be captured', async () => {
    const t0 = new Date('2026-11-22T10:00:00.000Z');
    const agentId = await agent('agt_expiry');
    await ledger.deposit({ caller, amount: 100, currency: 'eur' }, meta, t0);
    await ledger.setBudget({ caller, agent_id: agentId, currency: 'eur', fixed_limit: 100 }, meta, t0);
    const hold = await ledger.createSpend({ caller, agent_id: agentId, amount: 40, currency: 'eur', capture: false }, meta, t0);

    expect(await ledger.expireDueHolds(new Date(t0.getTime() + 7 * DAY - 1))).toBe(0);
    expect(await ledger.expireDueHolds(new Date(t0.getTime() + 7 * DAY))).toBe(1);
    expect(await ledger.expireDueHolds(new Date(t0.getTime() + 8 * DAY))).toBe(0);

    const row = await db.selectFrom('spends').select(['status']).where('id', '=', hold.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('expired');
    const wallet = await db.selectFrom('wallets').selectAll().where('org_id', '=', caller.org_id).where('currency', '=', 'eur').executeTakeFirstOrThrow();
    expect(wallet).toMatchObject({ deposits: 100, held: 0, captured: 0 });
    await expect(ledger.captureSpend({ caller, spend_id: hold.id }, meta, new Date(t0.getTime() + 8 * DAY))).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('a deposit retried with its Idempotency-Key (its answer was lost) is deposited once', async () => {
    const retried = { ...meta, idempotency_key: 'deposit-once' };
    const first = await ledger.deposit({ caller, amount: 700, currency: 'chf' }, retried);
    const again = await ledger.deposit({ caller, amount: 700, currency: 'chf' }, { ...retried, request_id: 'req_retry' });
    expect(first.balance.available).toBe(700);
    expect(again.balance.available).toBe(700);
    const wallet = await db.selectFrom('wallets').selectAll().where('org_id', '=', caller.org_id).where('currency', '=', 'chf').executeTakeFirstOrThrow();
    expect(Number(wallet.deposits)).toBe(700);
    await ledger.deposit({ caller, amount: 5, currency: 'chf' }, { ...meta, idempotency_key: 'deposit-other' });
    expect(Number((await db.selectFrom('wallets').select('deposits').where('org_id', '=', caller.org_id).where('currency', '=', 'chf').executeTakeFirstOrThrow()).deposits)).toBe(705);
  });

  it('rebuilding the read model from the log gives the live tables row for row', async () => {
    const a = await agent('agt_rebuild_a');
    const b = await agent('agt_rebuild_b');
    await ledger.deposit({ caller, amount: 10_000, currency: 'usd' }, meta);
    await ledger.setBudget({ caller, agent_id: a, currency: 'usd', fixed_limit: 500, limits: [{ interval: 'daily', amount: 300 }] }, meta);
    await ledger.setBudget({ caller, agent_id: b, currency: 'usd', budget_percent: 5 }, meta);
    // Concurrent commands go through one batch or a few: the group-commit path.
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => ledger.createSpend({ caller, agent_id: i % 2 ? a : b, amount: 1 + (i % 7), currency: 'usd', capture: i % 3 !== 0 }, meta)),
    );
    const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const holds = made.filter((s) => s.status === 'authorized');
    await ledger.captureSpend({ caller, spend_id: holds[0].id, amount: 1 }, meta);
    await ledger.releaseSpend({ caller, spend_id: holds[1].id }, meta);
    const captured = made.find((s) => s.status === 'captured');
    await ledger.refundSpend({ caller, spend_id: captured!.id, amount: 1 }, meta);

    const snapshot = async () =>
      Object.fromEntries(
        await Promise.all(
          BUDGET_READ_MODEL_TABLES.map(async (table) => [table, (await sql`select * from ${sql.table(table)} order by 1, 2, 3`.execute(db)).rows] as const),
        ),
      );
    const live = await snapshot();
    await db.transaction().execute(async (trx) => {
      for (const table of BUDGET_READ_MODEL_TABLES) await sql`delete from ${sql.table(table)}`.execute(trx);
      const events = await trx.selectFrom('events').select(['type', 'data', 'position']).orderBy('position').execute();
      await projectBudgetEvents(trx, events);
    });
    expect(await snapshot()).toEqual(live);
  });

  it('one recorded attestation, one spend: of spends naming it at once (in one batch, in the batches of another ledger instance) exactly one is made', async () => {
    const agentId = await agent('agt_attested_once');
    await ledger.deposit({ caller, amount: 10_000, currency: 'sek' }, meta);
    await ledger.setBudget({ caller, agent_id: agentId, currency: 'sek', fixed_limit: 1_000 }, meta);
    // A second ledger instance: its own batches, taking turns with this one only through Postgres.
    const logger = pino({ level: 'silent' });
    const other = new LedgerService(new WalletBatcher(new CommandRunner(db, new EventStore(db), nats, logger, projectBudgetEvents), logger), db);
    const claim = { purpose: 'compute credits', expected_amount: 5 };
    const spendUnder = (attestationId: string, via: LedgerService, amount = 5) =>
      via.createSpend({ caller, agent_id: agentId, amount, currency: 'sek', attestation: claim, attestation_id: attestationId }, meta);

    const attempts = await Promise.allSettled([...Array.from({ length: 4 }, () => spendUnder('att_once', ledger)), ...Array.from({ length: 3 }, () => spendUnder('att_once', other))]);
    const made = attempts.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(made).toHaveLength(1);
    const refused = attempts.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(refused).toHaveLength(6);
    for (const error of refused) expect(error).toMatchObject({ code: 'CONFLICT', details: { spend_id: made[0].id } });
    const linked = await db.selectFrom('spends').select('id').where('attestation_id', '=', 'att_once').execute();
    expect(linked).toEqual([{ id: made[0].id }]);

    // A declined spend made nothing, so the attestation is still free for one spend.
    await expect(spendUnder('att_after_decline', ledger, 5_000)).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    const after = await spendUnder('att_after_decline', other);
    await expect(spendUnder('att_after_decline', ledger)).rejects.toMatchObject({ code: 'CONFLICT', details: { spend_id: after.id } });
  });

  it('decides concurrent spends in a few shared transactions (group commit), with what each needs read once per batch', async () => {
    const agents = [await agent('agt_group_a'), await agent('agt_group_b'), await agent('agt_group_c')];
    await ledger.deposit({ caller, amount: 1_000, currency: 'chf' }, meta);
    for (const a of agents) await ledger.setBudget({ caller, agent_id: a, currency: 'chf', fixed_limit: 10 }, meta);
    const spends = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        ledger.createSpend({ caller, agent_id: agents[i % 3], amount: 1, currency: 'chf' }, { ...meta, idempotency_key: `group-${i}` }),
      ),
    );
    const made = spends.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const declined = spends.flatMap((r) => (r.status === 'rejected' ? [r.reason.code] : []));
    // 14, 13 and 13 requests for budgets of 10 each: every agent gets exactly 10.
    expect(made).toHaveLength(30);
    expect(declined).toEqual(Array(10).fill('BUDGET_EXCEEDED'));
    for (const a of agents) expect(made.filter((s) => s.agent_id === a)).toHaveLength(10);
    const { rows } = await sql<{ transactions: number; authorized: number }>`
      select count(distinct transaction_id)::int as transactions, count(*) filter (where type = 'SpendAuthorized')::int as authorized
      from events where type in ('SpendAuthorized', 'SpendDeclined') and data->>'currency' = 'chf'`.execute(db);
    expect(rows[0].authorized).toBe(30);
    // The first spend finds the wallet idle and runs alone; the 39 queued behind it share the next transaction.
    expect(rows[0].transactions).toBeLessThanOrEqual(2);
  });

  it('a spend retried with its Idempotency-Key is the first spend, whether the retry shares its batch or comes later, and a reused key is refused', async () => {
    const a = await agent('agt_idem');
    const b = await agent('agt_idem_sek');
    await ledger.deposit({ caller, amount: 1_000, currency: 'jpy' }, meta);
    await ledger.deposit({ caller, amount: 1_000, currency: 'sek' }, meta);
    await ledger.setBudget({ caller, agent_id: a, currency: 'jpy', fixed_limit: 500 }, meta);
    await ledger.setBudget({ caller, agent_id: b, currency: 'sek', fixed_limit: 500 }, meta);
    const keyed = { ...meta, idempotency_key: 'order-7' };
    const request = { caller, agent_id: a, amount: 5, currency: 'jpy' };
    const together = await Promise.all(Array.from({ length: 8 }, () => ledger.createSpend(request, keyed)));
    expect(new Set(together.map((s) => s.id)).size).toBe(1);
    const later = await ledger.createSpend(request, keyed);
    expect(later.id).toBe(together[0].id);
    await expect(ledger.createSpend({ ...request, amount: 6 }, keyed)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    // The same key through another wallet (another currency) finds the first spend too.
    await expect(ledger.createSpend({ ...request, agent_id: b, currency: 'sek' }, keyed)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });

    // Two wallets racing with one fresh key: their batches take turns on the key, so one spend wins.
    const raced = await Promise.allSettled([
      ledger.createSpend(request, { ...meta, idempotency_key: 'order-8' }),
      ledger.createSpend({ ...request, agent_id: b, currency: 'sek' }, { ...meta, idempotency_key: 'order-8' }),
    ]);
    expect(raced.map((r) => (r.status === 'fulfilled' ? 'spent' : r.reason.code)).sort()).toEqual(['IDEMPOTENCY_KEY_REUSED', 'spent'].sort());
    const { rows } = await sql<{ key: string; n: number }>`
      select data->>'idempotency_key' as key, count(*)::int as n from events
      where type = 'SpendAuthorized' and data->>'idempotency_key' in ('order-7', 'order-8') group by 1 order by 1`.execute(db);
    expect(rows).toEqual([
      { key: 'order-7', n: 1 },
      { key: 'order-8', n: 1 },
    ]);
    const usage = await db.selectFrom('agent_usage').selectAll().where('agent_id', '=', a).where('currency', '=', 'jpy').executeTakeFirstOrThrow();
    expect(usage.spent).toBe(raced[0].status === 'fulfilled' ? 10 : 5);
  });
});
