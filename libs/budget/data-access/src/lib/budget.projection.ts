import { Insertable, Kysely, sql, Transaction } from 'kysely';
import type { EventRow } from '@keyledger/event-store';
import type { LedgerEvent, WalletRef } from '@keyledger/budget-domain';
import type { LedgerDatabase } from './tables';

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

interface Deltas {
  deposits?: number;
  captured?: number;
  refunded?: number;
  held?: number;
}

async function writeWallet(
  db: Kysely<LedgerDatabase>,
  w: WalletRef,
  d: Deltas,
  at: string,
  version: number,
) {
  // Update first: an insert's values are checked against wallet_never_negative before any conflict
  // is found, so a hold's insert-or-update would trip it even on a funded wallet.
  const updated = await db
    .updateTable('wallets')
    .set({
      deposits: sql`deposits + ${d.deposits ?? 0}`,
      captured: sql`captured + ${d.captured ?? 0}`,
      refunded: sql`refunded + ${d.refunded ?? 0}`,
      held: sql`held + ${d.held ?? 0}`,
      updated_at: new Date(at),
      version,
    })
    .where('org_id', '=', w.org_id)
    .where('environment', '=', w.environment)
    .where('currency', '=', w.currency)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) return;
  await db
    .insertInto('wallets')
    .values({
      org_id: w.org_id,
      environment: w.environment,
      currency: w.currency,
      deposits: d.deposits ?? 0,
      captured: d.captured ?? 0,
      refunded: d.refunded ?? 0,
      held: d.held ?? 0,
      updated_at: new Date(at),
      version,
    })
    .execute();
}

type UsageDeltas = { committed: number; held: number; spent: number };

/** Sums the balance changes of one call's events, so each wallet and counter row is written once. */
class Changes {
  readonly wallets = new Map<
    string,
    { wallet: WalletRef; d: Required<Deltas>; at: string; version: number }
  >();
  readonly usage = new Map<
    string,
    { key: { agent_id: string; currency: string }; d: UsageDeltas }
  >();
  readonly days = new Map<
    string,
    {
      key: { agent_id: string; currency: string; day: string };
      committed: number;
    }
  >();

  wallet(w: WalletRef, d: Deltas, at: string, version: number) {
    const k = `${w.org_id}|${w.environment}|${w.currency}`;
    const e = this.wallets.get(k) ?? {
      wallet: w,
      d: { deposits: 0, captured: 0, refunded: 0, held: 0 },
      at,
      version,
    };
    e.d.deposits += d.deposits ?? 0;
    e.d.captured += d.captured ?? 0;
    e.d.refunded += d.refunded ?? 0;
    e.d.held += d.held ?? 0;
    e.at = at;
    e.version = version;
    this.wallets.set(k, e);
  }

  agent(
    s: { agent_id: string; currency: string; day: string },
    d: Partial<UsageDeltas>,
  ) {
    const k = `${s.agent_id}|${s.currency}`;
    const u = this.usage.get(k) ?? {
      key: { agent_id: s.agent_id, currency: s.currency },
      d: { committed: 0, held: 0, spent: 0 },
    };
    u.d.committed += d.committed ?? 0;
    u.d.held += d.held ?? 0;
    u.d.spent += d.spent ?? 0;
    this.usage.set(k, u);
    const dk = `${k}|${s.day}`;
    const day = this.days.get(dk) ?? {
      key: { agent_id: s.agent_id, currency: s.currency, day: s.day },
      committed: 0,
    };
    day.committed += d.committed ?? 0;
    this.days.set(dk, day);
  }

  async flush(db: Kysely<LedgerDatabase>) {
    for (const e of this.wallets.values()) await writeWallet(db, e.wallet, e.d, e.at, e.version);
    // One statement for all the agents' counters, one for all their days.
    const usage = [...this.usage.values()].map((u) => ({ ...u.key, ...u.d }));
    if (usage.length > 0) {
      await db
        .insertInto('agent_usage')
        .values(usage)
        .onConflict((oc) =>
          oc.columns(['agent_id', 'currency']).doUpdateSet({
            committed: sql`agent_usage.committed + excluded.committed`,
            held: sql`agent_usage.held + excluded.held`,
            spent: sql`agent_usage.spent + excluded.spent`,
          }),
        )
        .execute();
    }
    const days = [...this.days.values()].map((d) => ({ ...d.key, committed: d.committed }));
    if (days.length > 0) {
      await db
        .insertInto('agent_usage_days')
        .values(days)
        .onConflict((oc) => oc.columns(['agent_id', 'currency', 'day']).doUpdateSet({ committed: sql`agent_usage_days.committed + excluded.committed` }))
        .execute();
    }
  }
}

/**
 * Applies budget-ledger events to its tables. Called inline, in the append's transaction; the same
 * function rebuilds the tables from the log, so the two agree row for row. Unknown types are skipped.
 */
export async function projectBudgetEvents(
  trx: Transaction<any> | Kysely<any>,
  events: readonly Pick<EventRow, 'type' | 'data' | 'position'>[],
): Promise<void> {
  const db = trx as Kysely<LedgerDatabase>;
  const changes = new Changes();
  // New spends are inserted together; an update to one of them first writes what is waiting.
  const newSpends = new Map<string, Insertable<LedgerDatabase['spends']>>();
  const insertNewSpends = async () => {
    if (newSpends.size === 0) return;
    await db
      .insertInto('spends')
      .values([...newSpends.values()])
      .execute();
    newSpends.clear();
  };
  const changeWallet = (
    _: unknown,
    w: WalletRef,
    d: Deltas,
    at: string,
    version: number,
  ) => changes.wallet(w, d, at, version);
  const changeUsage = async (
    _: unknown,
    s: { agent_id: string; currency: string; day: string },
    d: Partial<UsageDeltas>,
  ) => changes.agent(s, d);
  for (const stored of events) {
    if (!HANDLED.has(stored.type)) continue;
    const event = {
      type: stored.type,
      data: stored.data,
    } as unknown as LedgerEvent;
    const version = stored.position;
    switch (event.type) {
      case 'FundsDeposited':
        await changeWallet(
          db,
          event.data,
          { deposits: event.data.amount },
          event.data.deposited_at,
          version,
        );
        break;
      case 'BudgetSet': {
        const b = event.data;
        const row = {
          org_id: b.org_id,
          environment: b.environment,
          currency: b.currency,
          fixed_limit: b.fixed_limit,
          budget_percent: b.budget_percent,
          max_position_value: b.max_position_value,
          limits: JSON.stringify(b.limits),
          require_attestation: b.require_attestation,
          updated_at: new Date(b.set_at),
          version,
        };
        await db
          .insertInto('agent_budgets')
          .values({ agent_id: b.agent_id, ...row })
          .onConflict((oc) => oc.column('agent_id').doUpdateSet(row))
          .execute();
        break;
      }
      case 'SpendAuthorized': {
        const s = event.data;
        newSpends.set(s.spend_id, {
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
          attestation:
            s.attestation === null ? null : JSON.stringify(s.attestation),
          attestation_id: s.attestation_id ?? null,
          attestation_mismatches: s.attestation_id === undefined ? null : JSON.stringify(s.attestation_mismatches ?? []),
          idempotency_key: s.idempotency_key,
          day: s.day,
          created_at: new Date(s.authorized_at),
          expires_at: s.expires_at === null ? null : new Date(s.expires_at),
          resolved_at: null,
          version,
        });
        await changeWallet(db, s, { held: s.amount }, s.authorized_at, version);
        await changeUsage(db, s, { committed: s.amount, held: s.amount });
        break;
      }
      case 'SpendCaptured': {
        const s = event.data;
        const hold = s.amount + s.released_amount;
        const captured = { status: 'captured' as const, captured_amount: s.amount, expires_at: null, resolved_at: new Date(s.captured_at), version };
        const fresh = newSpends.get(s.spend_id);
        if (fresh) Object.assign(fresh, captured);
        else {
          await insertNewSpends();
          await db.updateTable('spends').set(captured).where('id', '=', s.spend_id).execute();
        }
        await changeWallet(
          db,
          s,
          { held: -hold, captured: s.amount },
          s.captured_at,
          version,
        );
        await changeUsage(db, s, {
          committed: -s.released_amount,
          held: -hold,
          spent: s.amount,
        });
        break;
      }
      case 'HoldReleased':
      case 'HoldExpired': {
        const s = event.data;
        const at =
          event.type === 'HoldReleased'
            ? event.data.released_at
            : event.data.expired_at;
        await insertNewSpends();
        await db
          .updateTable('spends')
          .set({
            status: event.type === 'HoldReleased' ? 'released' : 'expired',
            resolved_at: new Date(at),
            version,
          })
          .where('id', '=', s.spend_id)
          .execute();
        await changeWallet(db, s, { held: -s.amount }, at, version);
        await changeUsage(db, s, { committed: -s.amount, held: -s.amount });
        break;
      }
      case 'SpendRefunded': {
        const s = event.data;
        await insertNewSpends();
        await db
          .updateTable('spends')
          .set({
            refunded_amount: sql`refunded_amount + ${s.amount}`,
            status: sql`case when refunded_amount + ${s.amount} >= captured_amount then 'refunded' else status end`,
            version,
          })
          .where('id', '=', s.spend_id)
          .execute();
        await changeWallet(
          db,
          s,
          { refunded: s.amount },
          s.refunded_at,
          version,
        );
        await changeUsage(db, s, { committed: -s.amount, spent: -s.amount });
        break;
      }
      case 'SpendDeclined':
        // A decline changes no balance; it lives in the log (and the audit trail) only.
        break;
    }
  }
  await insertNewSpends();
  await changes.flush(db);
}
