import fc from 'fast-check';
import { Kysely } from 'kysely';
import { LedgerCommand, ledgerDecider, LedgerEvent, LedgerState, WalletRef } from '@keyledger/budget-domain';
import { DomainError } from '@keyledger/domain';
import { createDb, migrateToLatest, ProjectedEvent } from '@keyledger/event-store';
import { createTestDatabase, projectInChunks as projectChunks, TestDatabase } from '@keyledger/testing';
import { projectBudgetEvents } from './budget.projection';
import { budgetMigrations } from './migrations';
import { BUDGET_READ_MODEL_TABLES } from './tables';

const wallet: WalletRef = { org_id: 'org_p', environment: 'test', currency: 'usd' };
const AGENTS = ['agt_0', 'agt_1', 'agt_2'];
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

/** What an operator or agent does to the wallet; the ledger decider turns it into events (or refuses it). */
const operation = fc.oneof(
  fc.record({ op: fc.constant('deposit' as const), amount: fc.integer({ min: 1, max: 5_000 }) }),
  fc.record({ op: fc.constant('budget' as const), agent: fc.nat(2), fixed: fc.option(fc.integer({ min: 1, max: 3_000 })), percent: fc.option(fc.integer({ min: 1, max: 100 })) }),
  fc.record({ op: fc.constant('spend' as const), agent: fc.nat(2), amount: fc.integer({ min: 1, max: 800 }), capture: fc.boolean() }),
  fc.record({ op: fc.constant('capture' as const), pick: fc.nat(), part: fc.boolean() }),
  fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('expire' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('refund' as const), pick: fc.nat(), part: fc.boolean() }),
);
type Operation = typeof operation extends fc.Arbitrary<infer O> ? O : never;

/** Runs the operations through the ledger decider, hours apart (so usage spans days), as the log would hold them. */
function ledgerLog(operations: readonly Operation[]): { events: ProjectedEvent[]; state: LedgerState } {
  let state = ledgerDecider.initialState();
  const events: ProjectedEvent[] = [];
  operations.forEach((o, i) => {
    const now = new Date(T0 + i * 3_600_000).toISOString();
    const spends = Object.keys(state.spends);
    const pick = (n: number) => spends[n % Math.max(1, spends.length)] ?? 'spd_none';
    let command: LedgerCommand;
    switch (o.op) {
      case 'deposit':
        command = { type: 'DepositFunds', data: { wallet, amount: o.amount, now } };
        break;
      case 'budget':
        command = {
          type: 'SetBudget',
          data: {
            wallet,
            agent_id: AGENTS[o.agent],
            policy: { currency: 'usd', fixed_limit: o.fixed, budget_percent: o.percent, max_position_value: null, limits: [{ interval: 'daily', amount: 2_000 }], require_attestation: false },
            now,
          },
        };
        break;
      case 'spend':
        command = {
          type: 'Spend',
          data: {
            wallet,
            spend_id: `spd_${i}`,
            agent_id: AGENTS[o.agent],
            agent: { status: 'active', paused_until: null },
            amount: o.amount,
            capture: o.capture,
            merchant: i % 2 ? 'acme.example' : null,
            description: null,
            attestation: i % 3 ? null : { purpose: 'compute', expected_amount: o.amount - (i % 2), merchant: 'acme.example' },
            attestation_id: i % 3 ? null : `att_${i}`,
            idempotency_key: i % 4 ? null : `idem_${i}`,
            now,
          },
        };
        break;
      case 'capture': {
        const spend = state.spends[pick(o.pick)];
        command = { type: 'CaptureSpend', data: { spend_id: pick(o.pick), amount: o.part && spend ? Math.max(1, Math.floor(spend.amount / 2)) : null, now } };
        break;
      }
      case 'release':
        command = { type: 'ReleaseHold', data: { spend_id: pick(o.pick), reason: 'requested', now } };
        break;
      case 'expire':
        command = { type: 'ExpireHold', data: { spend_id: pick(o.pick), now: new Date(T0 + (i + 24 * 8) * 3_600_000).toISOString() } };
        break;
      case 'refund':
        command = { type: 'RefundSpend', data: { spend_id: pick(o.pick), amount: o.part ? 1 : null, now } };
        break;
    }
    let decided: readonly LedgerEvent[];
    try {
      decided = ledgerDecider.decide(command, state);
    } catch (error) {
      if (error instanceof DomainError) return;
      throw error;
    }
    for (const event of decided) {
      state = ledgerDecider.evolve(state, event);
      // As read back from the log: JSON, positioned.
      events.push({ type: event.type, data: JSON.parse(JSON.stringify(event.data)), position: events.length + 1 });
    }
  });
  return { events, state };
}

describe('budget projection: a batch of N events equals N single-event projections (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;

  beforeAll(async () => {
    database = await createTestDatabase('budget_projection_int');
    db = createDb(database.url, { poolSize: 2 });
    await migrateToLatest(db, [budgetMigrations]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const projection = { tables: BUDGET_READ_MODEL_TABLES, project: projectBudgetEvents, orderBy: '1, 2, 3' };
  const projectInChunks = (events: readonly ProjectedEvent[], sizes: readonly number[], options: { lockRows: boolean }) =>
    projectChunks(db, projection, events, sizes, options);

  it('gives the same rows whether the events come one by one (live, rows locked), all at once, or in any chunks (replay)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 8 }), async (operations, sizes) => {
        const { events, state } = ledgerLog(operations);
        const single = await projectInChunks(events, events.map(() => 1), { lockRows: true });
        expect(await projectInChunks(events, [], { lockRows: false })).toEqual(single);
        expect(await projectInChunks(events, sizes, { lockRows: false })).toEqual(single);
        // And the rows say what the decider's own state says.
        const moved = events.some((e) => e.type !== 'BudgetSet' && e.type !== 'SpendDeclined');
        expect(single['wallets']).toEqual(moved ? [expect.objectContaining({ ...wallet, ...state.wallet })] : []);
        expect(single['spends']).toHaveLength(Object.keys(state.spends).length);
      }),
      { numRuns: 15 },
    );
  }, 300_000);
});
