import type { Kysely, Selectable } from 'kysely';
import type { SpendStatus, SpendView, WalletView } from '@keyledger/contracts';
import type { BudgetReadModels, SpendsTable, WalletsTable } from './budget-tables';
import type { Visibility } from './keys-queries';
import type { PageCursor } from './pagination';

export type WalletRow = Selectable<WalletsTable>;
export type SpendRow = Selectable<SpendsTable>;

/** `available` = deposits − captured + refunded − held. */
export function walletView(rows: readonly WalletRow[]): WalletView {
  return {
    balances: rows.map((w) => ({ currency: w.currency, available: w.deposits - w.captured + w.refunded - w.held, held: w.held })),
  };
}

export function spendView(row: SpendRow): SpendView {
  return {
    id: row.id,
    agent_id: row.agent_id,
    amount: row.amount,
    captured_amount: row.captured_amount,
    refunded_amount: row.refunded_amount,
    currency: row.currency,
    status: row.status,
    merchant: row.merchant,
    description: row.description,
    attestation_id: row.attestation_id,
    attestation: row.attestation,
    created_at: new Date(row.created_at).toISOString(),
    expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
  };
}

export async function listWallets(db: Kysely<BudgetReadModels>, scope: Visibility): Promise<WalletRow[]> {
  return db.selectFrom('wallets').selectAll().where('org_id', '=', scope.orgId).where('environment', '=', scope.environment).orderBy('currency').execute();
}

export async function listSpends(
  db: Kysely<BudgetReadModels>,
  scope: Visibility,
  filter: { agentId?: string; status?: SpendStatus },
  cursor: PageCursor | null,
  limit: number,
): Promise<SpendRow[]> {
  let query = db.selectFrom('spends').selectAll().where('org_id', '=', scope.orgId).where('environment', '=', scope.environment);
  if (scope.agentId !== null) query = query.where('agent_id', '=', scope.agentId);
  if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (cursor) {
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', cursor.createdAt), eb.and([eb('created_at', '=', cursor.createdAt), eb('id', '<', cursor.id)])]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
}

export async function findSpend(db: Kysely<BudgetReadModels>, scope: Visibility, spendId: string): Promise<SpendRow | null> {
  let query = db.selectFrom('spends').selectAll().where('id', '=', spendId).where('org_id', '=', scope.orgId).where('environment', '=', scope.environment);
  if (scope.agentId !== null) query = query.where('agent_id', '=', scope.agentId);
  return (await query.executeTakeFirst()) ?? null;
}
