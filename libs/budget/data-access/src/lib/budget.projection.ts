import type { Kysely, Transaction } from 'kysely';
import { JsonRow, ProjectedEvent, projectRows, ProjectRowsOptions, RowChange, rowChanges, RowProjection } from '@keyledger/event-store';
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

/** An ISO instant as the read model stores it (parsed as a `Date` would, so the same instant as before). */
const instant = (iso: string) => new Date(iso).toISOString();

export const BUDGET_TABLES: RowProjection<LedgerTables>['tables'] = {
  wallets: ['org_id', 'environment', 'currency'],
  agent_budgets: ['agent_id'],
  agent_usage: ['agent_id', 'currency'],
  agent_usage_days: ['agent_id', 'currency', 'day'],
  spends: ['id'],
};
const change = rowChanges<LedgerTables>(BUDGET_TABLES);

type Balance = Pick<WalletsTable, 'deposits' | 'captured' | 'refunded' | 'held'>;

/** The wallet's balance moved by `d`, stamped with the event's time and position. */
function walletChange(w: WalletRef, d: Partial<Balance>, at: string, version: number): RowChange {
  const key = { org_id: w.org_id, environment: w.environment, currency: w.currency };
  return change.upsert('wallets', key, (row): JsonRow<WalletsTable> => {
    const was = row ?? { ...key, deposits: 0, captured: 0, refunded: 0, held: 0 };
    return {
      ...key,
      deposits: was.deposits + (d.deposits ?? 0),
      captured: was.captured + (d.captured ?? 0),
      refunded: was.refunded + (d.refunded ?? 0),
      held: was.held + (d.held ?? 0),
      updated_at: instant(at),
      version,
    };
  });
}

/** The agent's usage counters, and its day's committed amount, moved by `d`. */
function usageChanges(s: { agent_id: string; currency: string; day: string }, d: { committed?: number; held?: number; spent?: number }): RowChange[] {
  const key = { agent_id: s.agent_id, currency: s.currency };
  return [
    change.upsert('agent_usage', key, (row) => {
      const was = row ?? { ...key, committed: 0, held: 0, spent: 0 };
      return { ...key, committed: was.committed + (d.committed ?? 0), held: was.held + (d.held ?? 0), spent: was.spent + (d.spent ?? 0) };
    }),
    change.upsert('agent_usage_days', { ...key, day: s.day }, (row) => ({ ...key, day: s.day, committed: (row?.committed ?? 0) + (d.committed ?? 0) })),
  ];
}

/**
 * Budget-ledger events as changes to its rows: inline, in the append's transaction, and on replay
 * from the log, one fold for both, so the two agree row for row. Unknown types change nothing.
 */
export const budgetProjection: RowProjection<LedgerTables> = {
  tables: BUDGET_TABLES,
  changesOf(stored): RowChange[] {
    if (!HANDLED.has(stored.type)) return [];
    const event = { type: stored.type, data: stored.data } as unknown as LedgerEvent;
    const version = stored.position;
    switch (event.type) {
      case 'FundsDeposited':
        return [walletChange(event.data, { deposits: event.data.amount }, event.data.deposited_at, version)];
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
          updated_at: instant(b.set_at),
          version,
        };
        return [change.upsert('agent_budgets', { agent_id: b.agent_id }, () => row)];
      }
      case 'SpendAuthorized': {
        const s = event.data;
        return [
          change.insert('spends', {
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
            attestation_id: null,
            idempotency_key: s.idempotency_key,
            day: s.day,
            created_at: instant(s.authorized_at),
            expires_at: s.expires_at === null ? null : instant(s.expires_at),
            resolved_at: null,
            version,
          }),
          walletChange(s, { held: s.amount }, s.authorized_at, version),
          ...usageChanges(s, { committed: s.amount, held: s.amount }),
        ];
      }
      case 'SpendCaptured': {
        const s = event.data;
        const hold = s.amount + s.released_amount;
        return [
          change.update('spends', { id: s.spend_id }, (row) => ({ ...row, status: 'captured' as const, captured_amount: s.amount, expires_at: null, resolved_at: instant(s.captured_at), version })),
          walletChange(s, { held: -hold, captured: s.amount }, s.captured_at, version),
          ...usageChanges(s, { committed: -s.released_amount, held: -hold, spent: s.amount }),
        ];
      }
      case 'HoldReleased':
      case 'HoldExpired': {
        const s = event.data;
        const at = event.type === 'HoldReleased' ? event.data.released_at : event.data.expired_at;
        return [
          change.update('spends', { id: s.spend_id }, (row) => ({ ...row, status: event.type === 'HoldReleased' ? ('released' as const) : ('expired' as const), resolved_at: instant(at), version })),
          walletChange(s, { held: -s.amount }, at, version),
          ...usageChanges(s, { committed: -s.amount, held: -s.amount }),
        ];
      }
      case 'SpendRefunded': {
        const s = event.data;
        return [
          change.update('spends', { id: s.spend_id }, (row) => {
            const refunded = row.refunded_amount + s.amount;
            return { ...row, refunded_amount: refunded, status: refunded >= row.captured_amount ? 'refunded' : row.status, version };
          }),
          walletChange(s, { refunded: s.amount }, s.refunded_at, version),
          ...usageChanges(s, { committed: -s.amount, spent: -s.amount }),
        ];
      }
      case 'SpendDeclined':
        // A decline changes no balance; it lives in the log (and the audit trail) only.
        return [];
    }
  },
};

/** Applies budget-ledger events to its tables: `budgetProjection`, loaded and written in one batch. */
export function projectBudgetEvents(trx: Transaction<any> | Kysely<any>, events: readonly ProjectedEvent[], options?: ProjectRowsOptions): Promise<void> {
  return projectRows(trx, budgetProjection, events, options);
}
