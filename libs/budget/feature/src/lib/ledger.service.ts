import { Inject, Injectable } from '@nestjs/common';
import type { Kysely, Transaction } from 'kysely';
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
  ledgerDecider,
  LedgerEvent,
  newSpendId,
  spendStream,
  walletAvailable,
  walletStream,
  WalletRef,
} from '@keyledger/budget-domain';
import { budgetRepository as repo } from '@keyledger/budget-data-access';
import { DomainError } from '@keyledger/domain';
import { DB, eventMetadata, UnitOfWork } from '@keyledger/nest';
import { WalletBatcher } from './wallet-batcher';
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
    attestation_id: null,
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
    return this.wallets.submit(wallet, async (uow) => {
      await this.decideAndAppend(uow, walletStream(wallet), 'any', { type: 'DepositFunds', data: { wallet, amount: request.amount, now: now.toISOString() } }, await repo.decisionState(uow.trx, wallet, { now: now.toISOString() }), meta, wallet);
      const row = await repo.walletBalance(uow.trx, wallet);
      const balance = row ?? { deposits: 0, captured: 0, refunded: 0, held: 0 };
      return { balance: { currency: wallet.currency, available: walletAvailable(balance), held: balance.held } };
    });
  }

  setBudget(request: SetBudgetRequest, meta: CommandMeta, now = new Date()): Promise<BudgetView> {
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
    const wallet = this.walletOf(caller, request.currency);
    return this.wallets.submit(wallet, async (uow) => {
      const agent = await repo.agentInScope(uow.trx, request.agent_id, caller.org_id, caller.environment);
      if (!agent) throw notFound('agent');
      const state = await repo.decisionState(uow.trx, wallet, { now: now.toISOString() });
      await this.decideAndAppend(uow, budgetStream(agent.id), 'any', { type: 'SetBudget', data: { wallet, agent_id: agent.id, policy, now: now.toISOString() } }, state, meta, wallet, agent.id);
      return this.budgetView(uow.trx, agent.id, now);
    });
  }

  async getBudget(request: GetBudgetRequest, now = new Date()): Promise<BudgetView> {
    const { caller } = request;
    if (caller.agent_id !== null && caller.agent_id !== request.agent_id) throw notFound('agent');
    const agent = await repo.agentInScope(this.db, request.agent_id, caller.org_id, caller.environment);
    if (!agent) throw notFound('agent');
    return this.budgetView(this.db, agent.id, now);
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
    const outcome = await this.wallets.submit(wallet, async (uow): Promise<{ spend: SpendView } | { declined: Declined }> => {
      if (key !== null) {
        await repo.lockIdempotencyKey(uow.trx, caller.org_id, key);
        const first = await repo.spendByIdempotencyKey(uow.trx, caller.org_id, key);
        if (first) return { spend: this.sameSpend(first, request, agentId) };
      }
      const agent = await repo.agentForSpend(uow.trx, agentId, caller.org_id, caller.environment);
      if (!agent) throw notFound('agent');
      const state = await repo.decisionState(uow.trx, wallet, { agentId, now: now.toISOString() });
      const spendId = newSpendId();
      const events = await this.decideAndAppend(
        uow,
        spendStream(spendId),
        0,
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
            idempotency_key: key,
            now: now.toISOString(),
          },
        },
        state,
        meta,
        wallet,
        agentId,
      );
      if (events[0]?.type === 'SpendDeclined') return { declined: events[0].data };
      return { spend: spendViewOf(events) };
    });
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
  async expireDueHolds(now = new Date(), batch = 200): Promise<number> {
    let expired = 0;
    for (const due of await repo.dueHolds(this.db, now, batch)) {
      const meta: CommandMeta = { request_id: 'sys_hold_expiry', actor_key_id: null, agent_id: due.agent_id, ip: null, idempotency_key: null };
      const events = await this.onSpendRow(due.id, meta, { type: 'ExpireHold', data: { spend_id: due.id, now: now.toISOString() } }, now);
      if (events.length > 0) expired++;
    }
    return expired;
  }

  /** Releases every open hold of a revoked agent. Idempotent: holds already resolved are left alone. */
  async releaseHoldsOfAgent(agentId: string, meta: CommandMeta, now = new Date()): Promise<number> {
    let released = 0;
    for (const hold of await repo.openHoldsOfAgent(this.db, agentId)) {
      const events = await this.onSpendRow(hold.id, meta, { type: 'ReleaseHold', data: { spend_id: hold.id, reason: 'agent_revoked', now: now.toISOString() } }, now);
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
    await this.onSpendRow(seen.id, meta, command, now);
    return spendView((await repo.spendById(this.db, seen.id)) as SpendRow);
  }

  /** Decides a command about one existing spend under its wallet's lock. */
  private async onSpendRow(spendId: string, meta: CommandMeta, command: LedgerCommand, now: Date): Promise<readonly LedgerEvent[]> {
    const before = await repo.spendById(this.db, spendId);
    if (!before) throw notFound('spend');
    const wallet: WalletRef = { org_id: before.org_id, environment: before.environment, currency: before.currency };
    return this.wallets.submit(wallet, async (uow) => {
      const spend = await repo.spendById(uow.trx, spendId);
      const state = await repo.decisionState(uow.trx, wallet, { spend, now: now.toISOString() });
      return this.decideAndAppend(uow, spendStream(spendId), 'any', command, state, meta, wallet, before.agent_id);
    });
  }

  private async decideAndAppend(
    uow: UnitOfWork,
    stream: string,
    expectedVersion: number | 'any',
    command: LedgerCommand,
    state: Parameters<typeof ledgerDecider.decide>[1],
    meta: CommandMeta,
    wallet: WalletRef,
    agentId: string | null = null,
  ): Promise<readonly LedgerEvent[]> {
    const events = ledgerDecider.decide(command, state);
    await uow.append(stream, expectedVersion, events, {
      metadata: eventMetadata(meta, { environment: wallet.environment, ...(agentId !== null ? { agent_id: agentId } : {}) }),
      orgId: wallet.org_id,
    });
    return events;
  }

  /** A retry with the same Idempotency-Key gets the first spend; the same key for another spend is refused. */
  private sameSpend(first: SpendRow, request: CreateSpendRequest, agentId: string): SpendView {
    if (first.agent_id !== agentId || first.amount !== request.amount || first.currency !== request.currency) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different spend');
    }
    return spendView(first);
  }

  private walletOf(caller: Caller, currency: string): WalletRef {
    return { org_id: caller.org_id, environment: caller.environment, currency };
  }

  private async budgetView(db: Kysely<any> | Transaction<any>, agentId: string, now: Date): Promise<BudgetView> {
    const policy = await repo.budgetOf(db, agentId);
    const row = await repo.budgetPolicyRow(db, agentId);
    if (!policy || !row) {
      return { agent_id: agentId, currency: null, remaining: 0, limiting_factor: 'no_budget', components: {}, spent: 0, held: 0, wallet_available: 0, policy: null };
    }
    const wallet = await repo.walletBalance(db, { org_id: row.org_id, environment: row.environment, currency: policy.currency });
    const available = wallet ? walletAvailable(wallet) : 0;
    const usage = await repo.usageOf(db, agentId, policy.currency, now.toISOString());
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
      policy: { agent_id: agentId, ...policy, limits: [...policy.limits], updated_at: new Date(row.updated_at).toISOString() },
    };
  }
}
