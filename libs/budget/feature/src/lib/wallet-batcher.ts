import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LedgerCommand, ledgerDecider, LedgerEvent, LedgerState, walletLockKey, WalletRef, walletStream } from '@keyledger/budget-domain';
import { budgetRepository as repo, spendRecordOf } from '@keyledger/budget-data-access';
import { DomainError } from '@keyledger/domain';
import type { EventMetadata } from '@keyledger/event-store';
import { CommandRunner, LOGGER, UnitOfWork } from '@keyledger/nest';
import type { SpendRow } from '@keyledger/read-models';

type AgentForSpend = NonNullable<Awaited<ReturnType<typeof repo.agentForSpend>>>;

/**
 * What a command will read, told when it is submitted, so that the batch reads it for all its
 * commands at once when it opens instead of one round trip each: the agent that spends (with the
 * time the command is stamped with), the spend's idempotency key (in the wallet's org) and the
 * recorded attestation it is made under.
 */
export interface BatchNeeds {
  agent?: { id: string; now: string };
  idempotencyKey?: string | null;
  attestationId?: string | null;
}

/** A day early: a command stamped just before a window boundary still finds that window's days. */
const dayBefore = (now: string) => new Date(new Date(now).getTime() - 86_400_000).toISOString();

/**
 * One transaction's worth of decisions about one wallet, holding its lock. The ledger state is read
 * once (the wallet, then each agent and spend the first time a command needs it) and evolved in
 * memory by the decider after every decision, so each command decides on exactly the state the
 * commands before it left; the events are appended and projected together at the end.
 */
export class WalletBatch {
  private mutable: { -readonly [K in keyof LedgerState]: LedgerState[K] };
  private readonly loadedAgents = new Set<string>();
  private readonly agentRows = new Map<string, AgentForSpend | null>();
  private readonly pending: { stream: string; events: (LedgerEvent & { metadata: EventMetadata })[] }[] = [];
  /** Spends decided in this batch by idempotency key (`org|key`), not yet visible in the table. */
  readonly spendsByIdempotencyKey = new Map<string, string>();
  /** Committed spends by idempotency key (null: none), for the keys whose lock this batch holds. */
  private readonly committedByIdempotencyKey = new Map<string, SpendRow | null>();
  /** The spend made under each recorded attestation whose lock this batch holds (null: none yet), committed or decided here. */
  private readonly spendByAttestation = new Map<string, string | null>();
  private readonly walletStream: string;

  private constructor(
    readonly uow: UnitOfWork,
    readonly wallet: WalletRef,
    state: LedgerState,
    /** The wallet stream's version: nothing else appends to it while the batch holds the wallet's lock. */
    private walletVersion: number,
  ) {
    this.mutable = { ...state };
    this.walletStream = walletStream(wallet);
  }

  /**
   * Takes the wallet's lock and the locks of the commands' idempotency keys, then reads the balance
   * and what the commands said they need: one round trip for each kind of thing, not for each command.
   */
  static async open(uow: UnitOfWork, wallet: WalletRef, needs: readonly BatchNeeds[] = []): Promise<WalletBatch> {
    const keys = [...new Set(needs.flatMap((n) => (n.idempotencyKey ? [n.idempotencyKey] : [])))];
    const attestationIds = [...new Set(needs.flatMap((n) => (n.attestationId ? [n.attestationId] : [])))];
    await repo.lockWalletKeysAndAttestations(uow.trx, wallet, keys, attestationIds);
    const { balance, streamVersion } = await repo.walletForBatch(uow.trx, wallet, walletStream(wallet));
    const batch = new WalletBatch(uow, wallet, { wallet: balance, budgets: {}, usage: {}, spends: {} }, streamVersion);
    if (keys.length > 0) {
      const found = new Map((await repo.spendsByIdempotencyKeys(uow.trx, wallet.org_id, keys)).map((row) => [row.idempotency_key, row]));
      for (const key of keys) batch.committedByIdempotencyKey.set(key, found.get(key) ?? null);
    }
    if (attestationIds.length > 0) {
      const found = new Map((await repo.spendsByAttestationIds(uow.trx, attestationIds)).map((row) => [row.attestation_id, row.id]));
      for (const id of attestationIds) batch.spendByAttestation.set(id, found.get(id) ?? null);
    }
    const agents = needs.flatMap((n) => (n.agent ? [n.agent] : []));
    if (agents.length > 0) {
      const earliest = agents.reduce((min, a) => (a.now < min ? a.now : min), agents[0].now);
      const ids = [...new Set(agents.map((a) => a.id))];
      const loaded = await repo.agentsWithBudgetForSpend(uow.trx, wallet, ids, dayBefore(earliest));
      for (const id of ids) {
        const found = loaded.get(id);
        batch.agentRows.set(id, found?.agent ?? null);
        if (found) batch.merge(id, found);
      }
    }
    return batch;
  }

  get state(): LedgerState {
    return this.mutable;
  }

  /**
   * The agent in the wallet's org and environment, share-locked for the rest of the transaction (a
   * revocation waits for us), with its budget and usage brought into the state; null when absent.
   */
  async agentForSpend(agentId: string, now: string): Promise<AgentForSpend | null> {
    if (this.agentRows.has(agentId)) return this.agentRows.get(agentId) ?? null;
    if (this.loadedAgents.has(agentId)) {
      const row = await repo.agentForSpend(this.uow.trx, agentId, this.wallet.org_id, this.wallet.environment);
      this.agentRows.set(agentId, row);
      return row;
    }
    const loaded = (await repo.agentsWithBudgetForSpend(this.uow.trx, this.wallet, [agentId], dayBefore(now))).get(agentId);
    this.agentRows.set(agentId, loaded?.agent ?? null);
    if (!loaded) return null;
    this.merge(agentId, loaded);
    return loaded.agent;
  }

  /** Brings the agent's budget and usage into the state, once per batch. */
  async ensureAgent(agentId: string, now: string): Promise<void> {
    if (this.loadedAgents.has(agentId)) return;
    this.merge(agentId, await repo.decisionState(this.uow.trx, this.wallet, { agentId, now: dayBefore(now) }));
  }

  private merge(agentId: string, loaded: Pick<LedgerState, 'budgets' | 'usage'>): void {
    this.mutable = {
      ...this.mutable,
      budgets: { ...this.mutable.budgets, ...loaded.budgets },
      usage: { ...this.mutable.usage, ...loaded.usage },
    };
    this.loadedAgents.add(agentId);
  }

  /**
   * The committed spend made with this idempotency key in the wallet's org, or null. The key's lock
   * is held from here to the commit, so a concurrent retry through another wallet waits for us.
   */
  async committedSpendWithKey(key: string): Promise<SpendRow | null> {
    const known = this.committedByIdempotencyKey.get(key);
    if (known !== undefined) return known;
    await repo.lockIdempotencyKey(this.uow.trx, this.wallet.org_id, key);
    const row = await repo.spendByIdempotencyKey(this.uow.trx, this.wallet.org_id, key);
    this.committedByIdempotencyKey.set(key, row);
    return row;
  }

  /**
   * The spend already made under this recorded attestation — committed, or decided earlier in this
   * batch — or null. The attestation's lock is held from here to the commit, so a spend naming it
   * through another wallet waits for this batch and then finds its spend.
   */
  async spendUnderAttestation(attestationId: string): Promise<string | null> {
    const known = this.spendByAttestation.get(attestationId);
    if (known !== undefined) return known;
    await repo.lockAttestation(this.uow.trx, attestationId);
    const [row] = await repo.spendsByAttestationIds(this.uow.trx, [attestationId]);
    this.spendByAttestation.set(attestationId, row?.id ?? null);
    return row?.id ?? null;
  }

  /** Records that a spend decided in this batch was made under the attestation (see spendUnderAttestation). */
  madeUnderAttestation(attestationId: string, spendId: string): void {
    this.spendByAttestation.set(attestationId, spendId);
  }

  /** Brings one spend (and its agent) into the state; null when there is no such spend. */
  async ensureSpend(spendId: string, now: string): Promise<boolean> {
    if (this.mutable.spends[spendId]) return true;
    const row = await repo.spendById(this.uow.trx, spendId);
    if (!row) return false;
    await this.ensureAgent(row.agent_id, now);
    this.mutable = { ...this.mutable, spends: { ...this.mutable.spends, [spendId]: spendRecordOf(row) } };
    return true;
  }

  /** Decides on the current state, evolves it, and queues the events for the batch's append. */
  decide(command: LedgerCommand, stream: string, metadata: EventMetadata): readonly LedgerEvent[] {
    const events = ledgerDecider.decide(command, this.mutable);
    if (events.length === 0) return events;
    this.mutable = events.reduce((state, event) => ledgerDecider.evolve(state, event), this.mutable as LedgerState);
    const last = this.pending[this.pending.length - 1];
    const stamped = events.map((e) => ({ ...e, metadata }));
    if (last && last.stream === stream) last.events.push(...stamped);
    else this.pending.push({ stream, events: stamped });
    return events;
  }

  /**
   * Appends every queued event (one append per run of the same stream) and projects them inline.
   * The wallet stream is appended at the version read under the lock: one statement, no stream lock.
   */
  async flush(): Promise<void> {
    for (const { stream, events } of this.pending) {
      const expected = stream === this.walletStream ? this.walletVersion : 'any';
      await this.uow.append(stream, expected, events, { metadata: events[0].metadata, orgId: this.wallet.org_id });
      if (stream === this.walletStream) this.walletVersion += events.length;
    }
    this.pending.length = 0;
  }
}

type Work<T> = (batch: WalletBatch) => Promise<T>;
interface Job {
  work: Work<unknown>;
  needs: BatchNeeds | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const MAX_BATCH = 200;

/**
 * One writer per wallet in this instance, with group commit. Commands for a wallet queue here; the
 * queue runs them one transaction at a time, as many as are waiting in one transaction, after
 * taking the wallet's Postgres lock (which serializes the instances). The lock wait, the state
 * read, the append and the commit's flush are paid once per batch instead of once per command.
 */
@Injectable()
export class WalletBatcher {
  private readonly queues = new Map<string, Job[]>();

  constructor(
    private readonly runner: CommandRunner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Runs `work` in the wallet's next batch; `needs` lets the batch read it together with the others'. */
  submit<T>(wallet: WalletRef, work: Work<T>, needs?: BatchNeeds): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const key = walletLockKey(wallet);
      const job: Job = { work, needs, resolve: resolve as (v: unknown) => void, reject };
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(job);
        return;
      }
      this.queues.set(key, [job]);
      void this.drain(key, wallet);
    });
  }

  private async drain(key: string, wallet: WalletRef): Promise<void> {
    const queue = this.queues.get(key) as Job[];
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      const started = performance.now();
      try {
        this.settle(batch, await this.runBatch(wallet, batch));
        this.logger.debug({ wallet: key, commands: batch.length, ms: Math.round(performance.now() - started) }, 'wallet batch committed');
      } catch (error) {
        // Something unexpected aborted the shared transaction: give each command its own, so one
        // bad command cannot fail the others.
        if (batch.length === 1) batch[0].reject(error);
        else for (const job of batch) await this.runBatch(wallet, [job]).then((o) => this.settle([job], o), job.reject);
      }
    }
    this.queues.delete(key);
  }

  private runBatch(wallet: WalletRef, jobs: readonly Job[]): Promise<Outcome[]> {
    return this.runner.run(async (uow) => {
      const batch = await WalletBatch.open(uow, wallet, jobs.flatMap((job) => (job.needs ? [job.needs] : [])));
      const outcomes: Outcome[] = [];
      for (const job of jobs) {
        try {
          outcomes.push({ ok: true, value: await job.work(batch) });
        } catch (error) {
          // Business refusals are thrown by `decide`, before a command changes the state, so the batch goes on.
          if (!(error instanceof DomainError)) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      await batch.flush();
      return outcomes;
    });
  }

  private settle(batch: readonly Job[], outcomes: readonly Outcome[]): void {
    batch.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }
}
