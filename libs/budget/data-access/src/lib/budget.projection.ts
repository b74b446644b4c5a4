import type { Kysely, Transaction } from 'kysely';
import { JsonRow, ProjectedEvent, projectRows, ProjectRowsOptions, RowProjection, Rows } from '@keyledger/event-store';
import type { LedgerEvent, WalletRef } from '@keyledger/budget-domain';
import type { WalletsTable } from '@keyledger/read-models';
import type { LedgerTables } from './tables';

const HANDLED: ReadonlySet<string> = new Set<LedgerEvent['type']>([
  'FundsDeposited',
  'BudgetSet',
  'SpendAuthorized',
  'SpendCaptured',
  'HoldReleased',
  'HoldExpired',
  'SpendRefunded',
  'SpendDeclined',
]);

// Instants stay the ISO strings the events carry: Postgres parses them into timestamptz on write.

export const BUDGET_TABLES: RowProjection<LedgerTables>['tables'] = {
  wallets: ['org_id', 'environment', 'currency'],
  agent_budgets: ['agent_id'],
  agent_usage: ['agent_id', 'currency'],
  agent_usage_days: ['agent_id', 'currency', 'day'],
  spends: ['id'],
};

type Balance = Pick<WalletsTable, 'deposits' | 'captured' | 'refunded' | 'held'>;

type LedgerRows = Rows<LedgerTables>;

/** The wallet's balance moved by `d`, stamped with the event's time and position. */
function moveWallet(rows: LedgerRows, w: WalletRef, d: Partial<Balance>, at: string, version: number): void {
  const key = {
    org_id: w.org_id,
    environment: w.environment,
    currency: w.currency,
  };
  // Counters change on most events: modified in place, the row being this batch's own copy.
  rows.upsert('wallets', key, (row): JsonRow<WalletsTable> => {
    const wallet = row ?? { ...key, deposits: 0, captured: 0, refunded: 0, held: 0, updated_at: at, version };
    wallet.deposits += d.deposits ?? 0;
    wallet.captured += d.captured ?? 0;
    wallet.refunded += d.refunded ?? 0;
    wallet.held += d.held ?? 0;
    wallet.updated_at = at;
    wallet.version = version;
    return wallet;
  });
}

/** The agent's usage counters, and its day's committed amount, moved by `d`. */
function moveUsage(rows: LedgerRows, s: { agent_id: string; currency: string; day: string }, d: { committed?: number; held?: number; spent?: number }): void {
  const key = { agent_id: s.agent_id, currency: s.currency };
  rows.upsert('agent_usage', key, (row) => {
    const usage = row ?? { ...key, committed: 0, held: 0, spent: 0 };
    usage.committed += d.committed ?? 0;
    usage.held += d.held ?? 0;
    usage.spent += d.spent ?? 0;
    return usage;
  });
  rows.upsert('agent_usage_days', { ...key, day: s.day }, (row) => {
    const day = row ?? { ...key, day: s.day, committed: 0 };
    day.committed += d.committed ?? 0;
    return day;
  });
}

/**
 * Budget-ledger events as changes to its rows: inline, in the append's transaction, and on replay
 * from the log, one fold for both, so the two agree row for row. Unknown types change nothing.
 */
export const budgetProjection: RowProjection<LedgerTables> = {
  tables: BUDGET_TABLES,
  apply(stored, rows) {
    if (!HANDLED.has(stored.type)) return;
    const event = {
      type: stored.type,
      data: stored.data,
    } as unknown as LedgerEvent;
    const version = stored.position;
    switch (event.type) {
      case 'FundsDeposited':
        return moveWallet(rows, event.data, { deposits: event.data.amount }, event.data.deposited_at, version);
      case 'BudgetSet': {
        const b = event.data;
        const row = {
          agent_id: b.agent_id,
          org_id: b.org_id,
          environment: b.environment,
          currency: b.currency,
          fixed_limit: b.fixed_limit,
          budget_percent: b.budget_percent === null ? null : String(b.budget_percent),
          max_position_value: b.max_position_value,
          limits: [...b.limits],
          require_attestation: b.require_attestation,
          updated_at: b.set_at,
          version,
        };
        return rows.upsert('agent_budgets', { agent_id: b.agent_id }, () => row);
      }
      case 'SpendAuthorized': {
        const s = event.data;
        rows.insert('spends', {
          id: s.spend_id,
          org_id: s.org_id,
          environment: s.environment,
          agent_id: s.agent_id,
          currency: s.currency,
          amount: s.amount,
          captured_amount: 0,
          refunded_amount: 0,
          status: 'authorized',
          merchant: s.merchant,
          description: s.description,
          attestation: s.attestation,
          attestation_id: s.attestation_id ?? null,
          attestation_mismatches: s.attestation_id === undefined ? null : (s.attestation_mismatches ?? []),
          idempotency_key: s.idempotency_key,
          day: s.day,
          created_at: s.authorized_at,
          expires_at: s.expires_at,
          resolved_at: null,
          version,
        });
        moveWallet(rows, s, { held: s.amount }, s.authorized_at, version);
        return moveUsage(rows, s, { committed: s.amount, held: s.amount });
      }
      case 'SpendCaptured': {
        const s = event.data;
        const hold = s.amount + s.released_amount;
        rows.update('spends', { id: s.spend_id }, (row) => ({
          ...row,
          status: 'captured' as const,
          captured_amount: s.amount,
          expires_at: null,
          resolved_at: s.captured_at,
          version,
        }));
        moveWallet(rows, s, { held: -hold, captured: s.amount }, s.captured_at, version);
        return moveUsage(rows, s, {
          committed: -s.released_amount,
          held: -hold,
          spent: s.amount,
        });
      }
      case 'HoldReleased':
      case 'HoldExpired': {
        const s = event.data;
        const at = event.type === 'HoldReleased' ? event.data.released_at : event.data.expired_at;
        rows.update('spends', { id: s.spend_id }, (row) => ({
          ...row,
          status: event.type === 'HoldReleased' ? ('released' as const) : ('expired' as const),
          resolved_at: at,
          version,
        }));
        moveWallet(rows, s, { held: -s.amount }, at, version);
        return moveUsage(rows, s, { committed: -s.amount, held: -s.amount });
      }
      case 'SpendRefunded': {
        const s = event.data;
        rows.update('spends', { id: s.spend_id }, (row) => {
          const refunded = row.refunded_amount + s.amount;
          return {
            ...row,
            refunded_amount: refunded,
            status: refunded >= row.captured_amount ? 'refunded' : row.status,
            version,
          };
        });
        moveWallet(rows, s, { refunded: s.amount }, s.refunded_at, version);
        return moveUsage(rows, s, { committed: -s.amount, spent: -s.amount });
      }
      case 'SpendDeclined':
        // A decline changes no balance; it lives in the log (and the audit trail) only.
        return;
    }
  },
};

/** Applies budget-ledger events to its tables: `budgetProjection`, loaded and written in one batch. */
export function projectBudgetEvents(trx: Transaction<any> | Kysely<any>, events: readonly ProjectedEvent[], options?: ProjectRowsOptions): Promise<void> {
  return projectRows(trx, budgetProjection, events, options);
}
