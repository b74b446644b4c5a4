import { Kysely, sql, Transaction } from 'kysely';
import {
  AgentUsage,
  BudgetPolicy,
  earliestWindowDay,
  EMPTY_WALLET,
  LedgerState,
  SpendRecord,
  walletLockKey,
  WalletRef,
} from '@keyledger/budget-domain';
import type { Environment } from '@keyledger/contracts';
import type { SpendRow } from '@keyledger/read-models';
import type { LedgerDatabase } from './tables';

type BudgetRowJson = BudgetPolicy & { budget_percent: number | string | null };
type UsageJson = { committed: number; held: number; spent: number };
type Db = Kysely<LedgerDatabase> | Transaction<LedgerDatabase>;
const asDb = (trx: Transaction<any> | Kysely<any>) => trx as Db;

const idempotencyLockKey = (orgId: string, key: string) => `spend-idem:${orgId}:${key}`;
const attestationLockKey = (attestationId: string) => `spend-attestation:${attestationId}`;

export function spendRecordOf(row: SpendRow): SpendRecord {
  return {
    org_id: row.org_id,
    environment: row.environment,
    currency: row.currency,
    spend_id: row.id,
    agent_id: row.agent_id,
    day: row.day,
    amount: row.amount,
    captured_amount: row.captured_amount,
    refunded_amount: row.refunded_amount,
    status: row.status,
    expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
  };
}

/** An agent's budget (when in the wallet's currency) and usage, from their JSON columns. */
function agentParts(
  agentId: string,
  wallet: WalletRef,
  row: { budget: BudgetRowJson | null; usage: UsageJson | null; days: { day: string; committed: number }[] },
): Pick<LedgerState, 'budgets' | 'usage'> {
  const b = row.budget;
  const budgets: Record<string, BudgetPolicy> = {};
  if (b && b.currency === wallet.currency) {
    budgets[agentId] = {
      currency: b.currency,
      fixed_limit: b.fixed_limit,
      budget_percent: b.budget_percent === null ? null : Number(b.budget_percent),
      max_position_value: b.max_position_value,
      limits: b.limits,
      require_attestation: b.require_attestation,
    };
  }
  const usage: AgentUsage = {
    by_day: Object.fromEntries(row.days.map((d) => [d.day, d.committed])),
    committed: row.usage?.committed ?? 0,
    held: row.usage?.held ?? 0,
    spent: row.usage?.spent ?? 0,
  };
  return { budgets, usage: { [agentId]: usage } };
}

export const budgetRepository = {
  /**
   * Serializes every decision about one wallet, across all ledger instances: held until the
   * transaction ends. Statements after it see everything the previous holder committed.
   */
  async lockWallet(trx: Transaction<any>, wallet: WalletRef): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${walletLockKey(wallet)}, 0))`.execute(trx);
  },

  /** Concurrent retries of one idempotent spend take turns, whatever wallet they name. */
  async lockIdempotencyKey(trx: Transaction<any>, orgId: string, key: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${idempotencyLockKey(orgId, key)}, 0))`.execute(trx);
  },

  /**
   * `lockWallet`, `lockIdempotencyKey` for keys of the wallet's org and `lockAttestation`, in one
   * round trip: the wallet's lock first, then the others in the order of their lock ids (Postgres
   * evaluates a volatile select list after the sort), so two batches needing the same keys or
   * attestations can never wait on each other in a cycle.
   */
  async lockWalletKeysAndAttestations(trx: Transaction<any>, wallet: WalletRef, keys: readonly string[], attestationIds: readonly string[] = []): Promise<void> {
    if (keys.length === 0 && attestationIds.length === 0) return this.lockWallet(trx, wallet);
    const others = [...keys.map((key) => idempotencyLockKey(wallet.org_id, key)), ...attestationIds.map(attestationLockKey)];
    await sql`select pg_advisory_xact_lock(l.id) from (
        select 0 as ord, hashtextextended(${walletLockKey(wallet)}, 0) as id
        union all
        select 1, hashtextextended(k, 0) from unnest(${others}::text[]) as k
      ) l order by l.ord, l.id`.execute(trx);
  },

  /**
   * The lock a spend naming a recorded attestation holds until it commits: spends naming the same
   * attestation through other wallets (another currency) wait for it, then see its spend.
   */
  async lockAttestation(trx: Transaction<any>, attestationId: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${attestationLockKey(attestationId)}, 0))`.execute(trx);
  },

  /** Committed spends made under these recorded attestations (one attestation, one spend). */
  async spendsByAttestationIds(trx: Transaction<any>, attestationIds: readonly string[]): Promise<SpendRow[]> {
    if (attestationIds.length === 0) return [];
    return asDb(trx).selectFrom('spends').selectAll().where('attestation_id', 'in', [...attestationIds]).execute();
  },

  /** The wallet's balance and its stream's version, read under its lock. */
  async walletForBatch(trx: Transaction<any>, wallet: WalletRef, stream: string): Promise<{ balance: LedgerState['wallet']; streamVersion: number }> {
    const { rows } = await sql<{ balance: LedgerState['wallet'] | null; version: number | null }>`
      select
        (select json_build_object('deposits', deposits, 'captured', captured, 'refunded', refunded, 'held', held)
           from wallets where org_id = ${wallet.org_id} and environment = ${wallet.environment} and currency = ${wallet.currency}) as balance,
        (select max(stream_version) from events where stream = ${stream}) as version`.execute(trx);
    return { balance: rows[0].balance ?? EMPTY_WALLET, streamVersion: rows[0].version ?? 0 };
  },

  /**
   * The agent as the keys read model has it. `for share` waits for a revocation in flight to commit
   * (and blocks one from committing under us), so a hold is never placed for an agent whose
   * AgentRevoked is already being swept.
   */
  async agentForSpend(trx: Transaction<any>, agentId: string, orgId: string, environment: Environment) {
    return (
      (await asDb(trx)
        .selectFrom('agents')
        .select(['id', 'status', 'paused_until'])
        .where('id', '=', agentId)
        .where('org_id', '=', orgId)
        .where('environment', '=', environment)
        .forShare()
        .executeTakeFirst()) ?? null
    );
  },

  /**
   * The agents, share-locked as in `agentForSpend`, each with its budget and usage, in one round
   * trip (the budget tables are only written under the wallet lock the caller holds). Agents not in
   * the wallet's org and environment are missing from the map.
   */
  async agentsWithBudgetForSpend(trx: Transaction<any>, wallet: WalletRef, agentIds: readonly string[], since: string) {
    const { rows } = await sql<{ id: string; status: 'active' | 'paused' | 'revoked'; paused_until: Date | null; budget: BudgetRowJson | null; usage: UsageJson | null; days: { day: string; committed: number }[] }>`
      select a.id, a.status, a.paused_until,
        (select row_to_json(b) from agent_budgets b where b.agent_id = a.id) as budget,
        (select json_build_object('committed', committed, 'held', held, 'spent', spent)
           from agent_usage where agent_id = a.id and currency = ${wallet.currency}) as usage,
        (select coalesce(json_agg(json_build_object('day', day, 'committed', committed)), '[]'::json)
           from agent_usage_days where agent_id = a.id and currency = ${wallet.currency} and day >= ${earliestWindowDay(since)}) as days
      from agents a
      where a.id = any(${agentIds}::text[]) and a.org_id = ${wallet.org_id} and a.environment = ${wallet.environment}
      order by a.id
      for share of a`.execute(trx);
    return new Map(rows.map((row) => [row.id, { agent: { id: row.id, status: row.status, paused_until: row.paused_until }, ...agentParts(row.id, wallet, row) }]));
  },

  async agentInScope(db: Kysely<any> | Transaction<any>, agentId: string, orgId: string, environment: Environment) {
    return (
      (await asDb(db)
        .selectFrom('agents')
        .select(['id', 'status', 'paused_until'])
        .where('id', '=', agentId)
        .where('org_id', '=', orgId)
        .where('environment', '=', environment)
        .executeTakeFirst()) ?? null
    );
  },

  async spendById(db: Kysely<any> | Transaction<any>, spendId: string): Promise<SpendRow | null> {
    return (await asDb(db).selectFrom('spends').selectAll().where('id', '=', spendId).executeTakeFirst()) ?? null;
  },

  /**
   * Whether a deposit with this Idempotency-Key was already recorded (within the gateway's 24-hour
   * retention). Deposits of one wallet are decided under its lock, so a retry sees the first's commit.
   */
  async depositedWithIdempotencyKey(trx: Transaction<any>, orgId: string, key: string): Promise<boolean> {
    const found = await sql`select 1 from events
      where metadata->>'idempotency_key' = ${key} and org_id = ${orgId} and type = 'FundsDeposited'
        and recorded_at > now() - interval '24 hours' limit 1`.execute(trx);
    return found.rows.length > 0;
  },

  async spendByIdempotencyKey(trx: Transaction<any>, orgId: string, key: string): Promise<SpendRow | null> {
    return (
      (await asDb(trx).selectFrom('spends').selectAll().where('org_id', '=', orgId).where('idempotency_key', '=', key).executeTakeFirst()) ??
      null
    );
  },

  async spendsByIdempotencyKeys(trx: Transaction<any>, orgId: string, keys: readonly string[]): Promise<SpendRow[]> {
    if (keys.length === 0) return [];
    return asDb(trx).selectFrom('spends').selectAll().where('org_id', '=', orgId).where('idempotency_key', 'in', [...keys]).execute();
  },

  async budgetPolicyRow(db: Kysely<any> | Transaction<any>, agentId: string) {
    return (await asDb(db).selectFrom('agent_budgets').select(['org_id', 'environment', 'currency', 'updated_at']).where('agent_id', '=', agentId).executeTakeFirst()) ?? null;
  },

  /**
   * The part of a wallet's ledger state one decision needs: the balance, and the budget and usage
   * of one agent, and one spend. Read under the wallet lock, it is exactly the state a replay of
   * the wallet's events would give for those parts.
   */
  async decisionState(
    trx: Transaction<any>,
    wallet: WalletRef,
    parts: { agentId?: string; spend?: SpendRow | null; now: string },
  ): Promise<LedgerState> {
    const agentId = parts.agentId ?? null;
    // One round trip for everything a decision reads: it runs under the wallet lock.
    const { rows } = await sql<{ wallet: LedgerState['wallet'] | null; budget: BudgetRowJson | null; usage: UsageJson | null; days: { day: string; committed: number }[] }>`
      select
        (select json_build_object('deposits', deposits, 'captured', captured, 'refunded', refunded, 'held', held)
           from wallets where org_id = ${wallet.org_id} and environment = ${wallet.environment} and currency = ${wallet.currency}) as wallet,
        (select row_to_json(b) from agent_budgets b where b.agent_id = ${agentId}) as budget,
        (select json_build_object('committed', committed, 'held', held, 'spent', spent)
           from agent_usage where agent_id = ${agentId} and currency = ${wallet.currency}) as usage,
        (select coalesce(json_agg(json_build_object('day', day, 'committed', committed)), '[]'::json)
           from agent_usage_days where agent_id = ${agentId} and currency = ${wallet.currency} and day >= ${earliestWindowDay(parts.now)}) as days`.execute(trx);
    const row = rows[0];
    const state: { -readonly [K in keyof LedgerState]: LedgerState[K] } = { wallet: row.wallet ?? EMPTY_WALLET, budgets: {}, usage: {}, spends: {} };
    if (agentId !== null) {
      const parts = agentParts(agentId, wallet, row);
      state.budgets = parts.budgets;
      state.usage = parts.usage;
    }
    if (parts.spend) state.spends = { [parts.spend.id]: spendRecordOf(parts.spend) };
    return state;
  },

  /** Holds past their expiry, oldest first (the expiry sweep's work list). */
  async dueHolds(db: Kysely<any>, now: Date, limit: number): Promise<SpendRow[]> {
    return asDb(db).selectFrom('spends').selectAll().where('status', '=', 'authorized').where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
  },

  async openHoldsOfAgent(db: Kysely<any> | Transaction<any>, agentId: string): Promise<SpendRow[]> {
    return asDb(db).selectFrom('spends').selectAll().where('agent_id', '=', agentId).where('status', '=', 'authorized').execute();
  },
};
