import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import {
  BalanceView,
  BudgetView,
  Caller,
  CommandMeta,
  CreateSpendRequest,
  DepositRequest,
  GetBudgetRequest,
  SetBudgetRequest,
  SpendTargetRequest,
  SpendView,
} from '@keyledger/contracts';
import {
  budgetComponents,
  budgetStream,
  BudgetPolicy,
  effectiveBudget,
  LedgerCommand,
  LedgerEvent,
  LedgerState,
  newSpendId,
  NO_USAGE,
  walletAvailable,
  walletStream,
  WalletRef,
} from '@keyledger/budget-domain';
import { budgetRepository as repo } from '@keyledger/budget-data-access';
import { DomainError } from '@keyledger/domain';
import { DB, eventMetadata } from '@keyledger/nest';
import { WalletBatch, WalletBatcher } from './wallet-batcher';
import { countSpendDecision } from './ledger.metrics';
import { spendView, SpendRow } from '@keyledger/read-models';

type Declined = Extract<LedgerEvent, { type: 'SpendDeclined' }>['data'];

const DECLINE_MESSAGES: Record<Declined['code'], string> = {
  BUDGET_EXCEEDED: 'this spend would exceed the agent’s budget',
  INSUFFICIENT_FUNDS: 'the wallet does not have enough available funds',
  AGENT_PAUSED: 'this agent is paused and cannot spend',
  AGENT_REVOKED: 'this agent has been revoked and cannot spend',
};

function declineError(d: Declined): DomainError {
  if (d.code === 'AGENT_PAUSED') return new DomainError(d.code, DECLINE_MESSAGES[d.code], { paused_until: d.paused_until ?? null });
  if (d.code === 'AGENT_REVOKED') return new DomainError(d.code, DECLINE_MESSAGES[d.code], {});
  return new DomainError(d.code, DECLINE_MESSAGES[d.code], { limiting_factor: d.limiting_factor, limit: d.limit, used: d.used, remaining: d.remaining });
}

/** The spend as its authorizing events describe it (a fresh spend: nothing else has happened to it yet). */
function spendViewOf(events: readonly LedgerEvent[]): SpendView {
  const authorized = events[0] as Extract<LedgerEvent, { type: 'SpendAuthorized' }>;
  const captured = events.find((e) => e.type === 'SpendCaptured') as Extract<LedgerEvent, { type: 'SpendCaptured' }> | undefined;
  const a = authorized.data;
  return {
    id: a.spend_id,
    agent_id: a.agent_id,
    amount: a.amount,
    captured_amount: captured?.data.amount ?? 0,
    refunded_amount: 0,
    currency: a.currency,
    status: captured ? 'captured' : 'authorized',
    merchant: a.merchant,
    description: a.description,
    attestation_id: a.attestation_id ?? null,
    attestation: a.attestation,
    created_at: a.authorized_at,
    expires_at: a.expires_at,
  };
}

const notFound = (what: string) => new DomainError('NOT_FOUND', `no such ${what}`);

/** A pause whose time has passed counts as over, whether or not its resume is recorded yet. */
function effectiveStatus(agent: { status: 'active' | 'paused' | 'revoked'; paused_until: Date | null }, now: Date) {
  if (agent.status === 'paused' && agent.paused_until !== null && new Date(agent.paused_until) <= now) {
    return { status: 'active' as const, paused_until: null };
  }
  return { status: agent.status, paused_until: agent.paused_until === null ? null : new Date(agent.paused_until).toISOString() };
}

/**
 * The budget ledger's commands. Every decision about a wallet runs inside one transaction that first
 * takes that wallet's lock (see README: never an overspend), loads the state the decision needs,
 * decides with the pure ledger decider and appends the events, projecting them inline.
 */
@Injectable()
export class LedgerService {
  constructor(
    private readonly wallets: WalletBatcher,
    @Inject(DB) private readonly db: Kysely<any>,
  ) {}

  deposit(request: DepositRequest, meta: CommandMeta, now = new Date()): Promise<{ balance: BalanceView }> {
    const wallet = this.walletOf(request.caller, request.currency);
    const key = meta.idempotency_key;
    return this.wallets.submit(wallet, async (batch) => {
      // A deposit retried after its answer was lost (the gateway gave its key back) is not deposited again.
      const repeated = key !== null && (await repo.depositedWithIdempotencyKey(batch.uow.trx, request.caller.org_id, key));
      if (!repeated) {
        batch.decide({ type: 'DepositFunds', data: { wallet, amount: request.amount, now: now.toISOString() } }, walletStream(wallet), this.metadata(meta, wallet));
      }
      const balance = batch.state.wallet;
      return { balance: { currency: wallet.currency, available: walletAvailable(balance), held: balance.held } };
    });
  }

  async setBudget(request: SetBudgetRequest, meta: CommandMeta, now = new Date()): Promise<BudgetView> {
    const { caller } = request;
    if (caller.agent_id !== null) {
      throw new DomainError('PERMISSION_DENIED', 'a key bound to an agent cannot set budgets', { required_scope: 'agents:write' });
    }
    const policy: BudgetPolicy = {
      currency: request.currency,
      fixed_limit: request.fixed_limit ?? null,
      budget_percent: request.budget_percent ?? null,
      max_position_value: request.max_position_value ?? null,
      limits: request.limits ?? [],
      require_attestation: request.require_attestation ?? false,
    };
    const agent = await repo.agentInScope(this.db, request.agent_id, caller.org_id, caller.environment);
    if (!agent) throw notFound('agent');
    const wallet = this.walletOf(caller, request.currency);
    return this.wallets.submit(wallet, async (batch) => {
      const at = now.toISOString();
      await batch.ensureAgent(agent.id, at);
      batch.decide({ type: 'SetBudget', data: { wallet, agent_id: agent.id, policy, now: at } }, budgetStream(agent.id), this.metadata(meta, wallet, agent.id));
      return budgetViewOf(agent.id, batch.state, at, now);
    });
  }

  async getBudget(request: GetBudgetRequest, now = new Date()): Promise<BudgetView> {
    const { caller } = request;
    if (caller.agent_id !== null && caller.agent_id !== request.agent_id) throw notFound('agent');
    const agent = await repo.agentInScope(this.db, request.agent_id, caller.org_id, caller.environment);
    if (!agent) throw notFound('agent');
    const row = await repo.budgetPolicyRow(this.db, agent.id);
    if (!row) return budgetViewOf(agent.id, null, null, now);
    const wallet: WalletRef = { org_id: row.org_id, environment: row.environment, currency: row.currency };
    // Plain reads, no lock: a snapshot of committed state, as any GET.
    const state = await this.db.transaction().execute((trx) => repo.decisionState(trx, wallet, { agentId: agent.id, now: now.toISOString() }));
    return budgetViewOf(agent.id, state, new Date(row.updated_at).toISOString(), now);
  }

  async createSpend(request: CreateSpendRequest, meta: CommandMeta, now = new Date()): Promise<SpendView> {
    const { caller } = request;
    const agentId = request.agent_id ?? caller.agent_id;
    if (agentId === null) {
      throw new DomainError('VALIDATION_ERROR', 'agent_id is required for a key not bound to an agent', {
        fields: [{ field: 'agent_id', message: 'is required for a key not bound to an agent' }],
      });
    }
    // A key bound to an agent acts only for that agent; another agent is simply not there.
    if (caller.agent_id !== null && caller.agent_id !== agentId) throw notFound('agent');
    const wallet = this.walletOf(caller, request.currency);
    const key = meta.idempotency_key;
    const at = now.toISOString();
    const outcome = await this.wallets.submit(wallet, async (batch): Promise<{ spend: SpendView; replayed?: boolean } | { declined: Declined }> => {
      if (key !== null) {
        const first = await this.firstSpendWithKey(batch, caller.org_id, key);
        if (first) return { spend: this.sameSpend(first, request, agentId), replayed: true };
      }
      const agent = await batch.agentForSpend(agentId, at);
      if (!agent) throw notFound('agent');
      // One attestation, one spend: the gateway checks too, but two spends naming the same
      // attestation at once both pass its check; here they take turns and the second is refused.
      const attestationId = request.attestation_id ?? null;
      const earlier = attestationId === null ? null : await batch.spendUnderAttestation(attestationId);
      if (earlier !== null) throw new DomainError('CONFLICT', `this attestation is already linked to spend ${earlier}`, { spend_id: earlier });
      const spendId = newSpendId();
      const events = batch.decide(
        {
          type: 'Spend',
          data: {
            wallet,
            spend_id: spendId,
            agent_id: agentId,
            agent: effectiveStatus(agent, now),
            amount: request.amount,
            capture: request.capture ?? true,
            merchant: request.merchant ?? null,
            description: request.description ?? null,
            attestation: request.attestation ?? null,
            attestation_id: request.attestation_id ?? null,
            idempotency_key: key,
            now: at,
          },
        },
        walletStream(wallet),
        this.metadata(meta, wallet, agentId),
      );
      if (events[0]?.type === 'SpendDeclined') return { declined: events[0].data };
      if (attestationId !== null) batch.madeUnderAttestation(attestationId, spendId);
      const spend = spendViewOf(events);
      if (key !== null) batch.spendsByIdempotencyKey.set(`${caller.org_id}|${key}`, JSON.stringify(spend));
      return { spend };
    }, { agent: { id: agentId, now: at }, idempotencyKey: key, attestationId: request.attestation_id ?? null });
    countSpendDecision(outcome);
    // The decline is committed (it is an event in the log) before the caller hears about it.
    if ('declined' in outcome) throw declineError(outcome.declined);
    return outcome.spend;
  }

  captureSpend(request: SpendTargetRequest, meta: CommandMeta, now = new Date()): Promise<SpendView> {
    return this.onSpend(request, meta, { type: 'CaptureSpend', data: { spend_id: request.spend_id, amount: request.amount ?? null, now: now.toISOString() } }, now);
  }

  releaseSpend(request: SpendTargetRequest, meta: CommandMeta, now = new Date()): Promise<SpendView> {
    return this.onSpend(request, meta, { type: 'ReleaseHold', data: { spend_id: request.spend_id, reason: 'requested', now: now.toISOString() } }, now);
  }

  refundSpend(request: SpendTargetRequest, meta: CommandMeta, now = new Date()): Promise<SpendView> {
    return this.onSpend(request, meta, { type: 'RefundSpend', data: { spend_id: request.spend_id, amount: request.amount ?? null, now: now.toISOString() } }, now);
  }

  /** Expires every hold whose 7 days have passed by `now`; returns how many it expired. */
  async expireDueHolds(now = new Date(), limit = 200): Promise<number> {
    let expired = 0;
    for (const due of await repo.dueHolds(this.db, now, limit)) {
      const meta: CommandMeta = { request_id: 'sys_hold_expiry', actor_key_id: null, agent_id: due.agent_id, ip: null, idempotency_key: null };
      const events = await this.onSpendRow(due, meta, { type: 'ExpireHold', data: { spend_id: due.id, now: now.toISOString() } }, now);
      if (events.length > 0) expired++;
    }
    return expired;
  }

  /** Releases every open hold of a revoked agent. Idempotent: holds already resolved are left alone. */
  async releaseHoldsOfAgent(agentId: string, meta: CommandMeta, now = new Date()): Promise<number> {
    let released = 0;
    for (const hold of await repo.openHoldsOfAgent(this.db, agentId)) {
      const events = await this.onSpendRow(hold, meta, { type: 'ReleaseHold', data: { spend_id: hold.id, reason: 'agent_revoked', now: now.toISOString() } }, now);
      if (events.length > 0) released++;
    }
    return released;
  }

  private async onSpend(request: SpendTargetRequest, meta: CommandMeta, command: LedgerCommand, now: Date): Promise<SpendView> {
    const { caller } = request;
    const seen = await repo.spendById(this.db, request.spend_id);
    const visible =
      seen !== null &&
      seen.org_id === caller.org_id &&
      seen.environment === caller.environment &&
      (caller.agent_id === null || caller.agent_id === seen.agent_id);
    if (!visible) throw notFound('spend');
    await this.onSpendRow(seen, meta, command, now);
    return spendView((await repo.spendById(this.db, seen.id)) as SpendRow);
  }

  /** Decides a command about one existing spend in its wallet's batch. */
  private onSpendRow(spend: SpendRow, meta: CommandMeta, command: LedgerCommand, now: Date): Promise<readonly LedgerEvent[]> {
    const wallet: WalletRef = { org_id: spend.org_id, environment: spend.environment, currency: spend.currency };
    return this.wallets.submit(wallet, async (batch) => {
      if (!(await batch.ensureSpend(spend.id, now.toISOString()))) throw notFound('spend');
      return batch.decide(command, walletStream(wallet), this.metadata(meta, wallet, spend.agent_id));
    });
  }

  /** The spend already made with this key in this org: decided earlier in this batch, or committed. */
  private async firstSpendWithKey(batch: WalletBatch, orgId: string, key: string): Promise<SpendView | null> {
    const inBatch = batch.spendsByIdempotencyKey.get(`${orgId}|${key}`);
    if (inBatch) return JSON.parse(inBatch) as SpendView;
    // Retries naming another wallet (another currency) run in another batch: they take turns on the key's lock.
    const row = await batch.committedSpendWithKey(key);
    return row ? spendView(row) : null;
  }

  /** A retry with the same Idempotency-Key gets the first spend; the same key for another spend is refused. */
  private sameSpend(first: SpendView, request: CreateSpendRequest, agentId: string): SpendView {
    if (first.agent_id !== agentId || first.amount !== request.amount || first.currency !== request.currency) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different spend');
    }
    return first;
  }

  private metadata(meta: CommandMeta, wallet: WalletRef, agentId: string | null = null) {
    return eventMetadata(meta, { environment: wallet.environment, ...(agentId !== null ? { agent_id: agentId } : {}) });
  }

  private walletOf(caller: Caller, currency: string): WalletRef {
    return { org_id: caller.org_id, environment: caller.environment, currency };
  }
}

/** The budget as GET shows it, computed by the same functions that decide spends. */
function budgetViewOf(agentId: string, state: LedgerState | null, updatedAt: string | null, now: Date): BudgetView {
  const policy = state?.budgets[agentId];
  if (!state || !policy) {
    return { agent_id: agentId, currency: null, remaining: 0, limiting_factor: 'no_budget', components: {}, spent: 0, held: 0, wallet_available: 0, policy: null };
  }
  const available = walletAvailable(state.wallet);
  const usage = state.usage[agentId] ?? NO_USAGE;
  const components = budgetComponents(policy, usage, available, now.toISOString());
  const { remaining, limiting_factor } = effectiveBudget(components, available);
  return {
    agent_id: agentId,
    currency: policy.currency,
    remaining,
    limiting_factor,
    components,
    spent: usage.spent,
    held: usage.held,
    wallet_available: available,
    policy: { agent_id: agentId, ...policy, limits: [...policy.limits], updated_at: updatedAt ?? now.toISOString() },
  };
}
