import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { Histogram } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { readConfig } from '@keyledger/config';
import {
  CounterLeaseReply,
  CounterLeaseRequest,
  CounterRecall,
  CounterRecallReply,
  RateLimitCheckReply,
  RateLimitCheckRequest,
  rateLimitPartition,
  RateLimitSubjects,
} from '@keyledger/contracts';
import { LOGGER, NATS_CONNECTION } from '@keyledger/nest';
import { decideUnderLease, extendLease, extensionDue, HeldLease, holdLease, SOLE_USER_MS } from '@keyledger/ratelimit-domain';
import { GatewayMetrics } from './metrics';
import type { BreakerState } from './service-clients';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A dead instance's partitions are taken over within a lease poll (250 ms): ask again a little later. */
const TAKEOVER_RETRIES_MS = [300, 300];
const noResponders = (error: unknown) => (error as { code?: string })?.code === '503';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const monotonic = () => performance.now();

/** This gateway's hold on one counter (org or client IP). */
type LocalCounter =
  /** A check asking for the lease is out: the counter's other checks wait for its answer. */
  | { status: 'asking'; done: Promise<void> }
  /** This gateway decides the counter's checks itself until `held.expiresAt`. */
  | { status: 'held'; held: HeldLease; extending: boolean; timer: NodeJS.Timeout }
  /** Run out and on its way back to the owner: nothing is decided under it any more. */
  | { status: 'returning'; held: HeldLease; done: Promise<void> }
  /** Other gateways use it too, or the owner cannot be reached: every check goes to the owner until `until` (monotonic). */
  | { status: 'per-check'; until: number };

/**
 * Sends each check to the one rate-limiter instance that owns its counter key's partition
 * (`ratelimit.check.<partition>`), with the RPC timeout, through a circuit breaker of its own. A
 * partition with no owner answers "no responders" at once, so a dead instance costs no timeout; the
 * check is asked again twice, 300 ms apart, to ride out a takeover by the surviving instances.
 *
 * A counter this gateway alone uses comes on lease: the owner hands over the counter's state and this
 * gateway decides its checks locally, with the owner's function, until the lease runs out (it is
 * extended while in use) or the owner recalls it because another gateway asked; then the state goes
 * back. At any moment one process decides a counter's checks, so limits stay exact.
 */
@Injectable()
export class RateLimiterClient implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly breaker: CircuitBreaker<[string, Uint8Array, boolean], RateLimitCheckReply>;
  readonly resetMs: number;

  /** This process, as a lease holder: the owner recalls leases on `ratelimit.holder.<id>`. */
  readonly holderId = randomUUID();
  private readonly counters = new Map<string, LocalCounter>();
  private readonly recalls: Subscription;
  private readonly rpcTimeoutMs: number;
  private readonly checkSeconds: Histogram<'decided_by'>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) logger: Logger,
    metrics: GatewayMetrics,
  ) {
    const config = readConfig(['KEYLEDGER_RPC_TIMEOUT_MS', 'KEYLEDGER_BREAKER_RESET_MS']);
    this.resetMs = config.KEYLEDGER_BREAKER_RESET_MS;
    this.rpcTimeoutMs = config.KEYLEDGER_RPC_TIMEOUT_MS;
    // What the check adds to a request, by who decided it: `lease` (this gateway) or `limiter` (a round trip).
    this.checkSeconds = new Histogram({
      name: 'keyledger_rate_limit_check_seconds',
      help: 'Time a rate-limit check adds to a request, by who decided it: lease (this gateway, under a counter lease) or limiter',
      labelNames: ['decided_by'] as const,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [metrics.registry],
    });
    // Counters gone quiet are forgotten (leases go back by themselves), so memory follows the active ones.
    this.sweeper = setInterval(() => {
      for (const [counter, local] of this.counters) if (local.status === 'per-check' && local.until <= monotonic()) this.counters.delete(counter);
    }, 10_000);
    this.sweeper.unref();
    this.recalls = this.nats.subscribe(RateLimitSubjects.holder(this.holderId), {
      callback: (error, msg) => {
        if (!error) void this.answerRecall(msg);
      },
    });
    this.breaker = new CircuitBreaker(
      async (subject: string, payload: Uint8Array, rideOutTakeover: boolean) => {
        for (let attempt = 0; ; attempt++) {
          try {
            const reply = await this.nats.request(subject, payload, { timeout: config.KEYLEDGER_RPC_TIMEOUT_MS });
            return JSON.parse(decoder.decode(reply.data)) as RateLimitCheckReply;
          } catch (error) {
            // Nobody owns the partition right now (its owner just died): the survivors take it over shortly.
            if (!rideOutTakeover || !noResponders(error) || attempt >= TAKEOVER_RETRIES_MS.length) throw error;
            await sleep(TAKEOVER_RETRIES_MS[attempt]);
          }
        }
      },
      {
        name: 'rate-limit-checks',
        timeout: false, // the request's own timeout applies
        resetTimeout: config.KEYLEDGER_BREAKER_RESET_MS,
        errorThresholdPercentage: 50,
        rollingCountTimeout: 10_000,
        volumeThreshold: 3,
      },
    );
    this.breaker.on('open', () => logger.warn('rate-limit check breaker opened: applying KEYLEDGER_RATE_LIMIT_FAIL_MODE'));
    this.breaker.on('close', () => logger.info('rate-limit check breaker closed'));
  }

  get state(): BreakerState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** The decision for a check, or null when it cannot be had (limiter down, slow, or the breaker is open). */
  async check(request: RateLimitCheckRequest): Promise<RateLimitCheckReply | null> {
    const started = process.hrtime.bigint();
    const { reply, decidedBy } = await this.decide(request);
    this.checkSeconds.observe({ decided_by: decidedBy }, Number(process.hrtime.bigint() - started) / 1e9);
    return reply;
  }

  private async decide(request: RateLimitCheckRequest): Promise<{ reply: RateLimitCheckReply | null; decidedBy: 'lease' | 'limiter' }> {
    for (;;) {
      const local = this.counters.get(request.counter);
      if (local?.status === 'held') {
        const decided = decideUnderLease(local.held, request, Date.now(), monotonic());
        if (decided) {
          local.held = decided.held;
          if (!local.extending && extensionDue(local.held, monotonic())) this.extend(request.counter, local);
          return { reply: decided.reply, decidedBy: 'lease' };
        }
        this.giveBack(request.counter, local);
        continue;
      }
      if (local?.status === 'asking' || local?.status === 'returning') {
        await local.done;
        continue;
      }
      if (local?.status === 'per-check' && local.until > monotonic()) return { reply: await this.ask(request), decidedBy: 'limiter' };
      return { reply: await this.askForLease(request), decidedBy: 'limiter' };
    }
  }

  /** Asks the owner to decide, and to lease the counter to this gateway if it is its only user. */
  private async askForLease(request: RateLimitCheckRequest): Promise<RateLimitCheckReply | null> {
    let answered!: () => void;
    const asking: LocalCounter = { status: 'asking', done: new Promise<void>((resolve) => (answered = resolve)) };
    this.counters.set(request.counter, asking);
    const askedAt = monotonic();
    try {
      const reply = await this.ask({ ...request, wants_lease: true });
      if (this.counters.get(request.counter) === asking) {
        if (reply?.lease) this.hold(request.counter, holdLease(reply.lease, askedAt));
        // Not this gateway's alone (or no limiter to ask): checks go out one by one, not behind one asking.
        else this.counters.set(request.counter, { status: 'per-check', until: monotonic() + SOLE_USER_MS });
      }
      if (!reply?.lease) return reply;
      const { lease: _lease, ...decision } = reply;
      return decision;
    } finally {
      answered();
    }
  }

  private hold(counter: string, held: HeldLease): void {
    const local: LocalCounter = { status: 'held', held, extending: false, timer: this.expiry(counter, held) };
    this.counters.set(counter, local);
  }

  /** An unused lease goes back by itself when its time is up. */
  private expiry(counter: string, held: HeldLease): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const local = this.counters.get(counter);
      if (local?.status === 'held' && local.held.id === held.id) this.giveBack(counter, local);
    }, Math.max(0, held.expiresAt - monotonic()));
    timer.unref();
    return timer;
  }

  /** Asks for more time, sending the counters along: what the owner keeps should this gateway vanish. */
  private extend(counter: string, local: Extract<LocalCounter, { status: 'held' }>): void {
    local.extending = true;
    const askedAt = monotonic();
    void this.leaseRequest({ lease: 'extend', counter, held: local.held }).then((reply) => {
      local.extending = false;
      if (this.counters.get(counter) !== local) return;
      // Refused: being recalled, or the partition changed owner (who never heard of this lease): stop deciding now.
      if (reply && !reply.ok) return this.giveBack(counter, local);
      if (!reply?.ttl_ms) return;
      local.held = extendLease(local.held, reply.ttl_ms, askedAt);
      clearTimeout(local.timer);
      local.timer = this.expiry(counter, local.held);
    });
  }

  /** The lease ran out: its counters go back to the owner; checks wait until they are there. */
  private giveBack(counter: string, local: Extract<LocalCounter, { status: 'held' }>): void {
    clearTimeout(local.timer);
    let returned!: () => void;
    const returning: LocalCounter = { status: 'returning', held: local.held, done: new Promise<void>((resolve) => (returned = resolve)) };
    this.counters.set(counter, returning);
    void this.leaseRequest({ lease: 'return', counter, held: local.held }).then(() => {
      if (this.counters.get(counter) === returning) this.counters.delete(counter);
      returned();
    });
  }

  private async leaseRequest({ lease, counter, held }: { lease: CounterLeaseRequest['lease']; counter: string; held: HeldLease }): Promise<CounterLeaseReply | null> {
    const request: CounterLeaseRequest = { schema_version: 1, lease, counter, lease_id: held.id, counters: held.counters, counters_at: Date.now(), limits: held.limits };
    try {
      const reply = await this.nats.request(RateLimitSubjects.check(rateLimitPartition(counter)), encoder.encode(JSON.stringify(request)), { timeout: this.rpcTimeoutMs });
      return JSON.parse(decoder.decode(reply.data)) as CounterLeaseReply;
    } catch {
      return null; // the owner is gone: its successor starts the counter afresh anyway
    }
  }

  /** The owner wants the counters back (another gateway asked): they go back as they are, now. */
  private async answerRecall(msg: Msg): Promise<void> {
    let reply: CounterRecallReply = { counters: null, limits: null };
    try {
      const recall = JSON.parse(decoder.decode(msg.data)) as CounterRecall;
      let local = this.counters.get(recall.counter);
      // The grant may be on its way to the check still waiting for it.
      if (local?.status === 'asking') {
        await local.done;
        local = this.counters.get(recall.counter);
      }
      if ((local?.status === 'held' || local?.status === 'returning') && local.held.id === recall.lease_id) {
        reply = { counters: local.held.counters, limits: local.held.limits };
        if (local.status === 'held') {
          clearTimeout(local.timer);
          this.counters.set(recall.counter, { status: 'per-check', until: monotonic() + SOLE_USER_MS });
        }
      }
    } finally {
      msg.respond(encoder.encode(JSON.stringify(reply)));
    }
  }

  /** The owner's decision, through the breaker. */
  private async ask(request: RateLimitCheckRequest): Promise<RateLimitCheckReply | null> {
    const partition = rateLimitPartition(request.counter);
    request = { ...request, gateway: this.holderId };
    // A partition nobody took over after the retries fails at once until its next probe is due; then
    // this request probes, and the others keep failing at once while it does.
    const probeDue = this.ownerless.get(partition);
    if (probeDue !== undefined) {
      if (probeDue > Date.now()) return null;
      this.ownerless.set(partition, Date.now() + this.resetMs);
    }
    try {
      // A probe of a partition already known to be without owner asks once.
      const reply = await this.breaker.fire(RateLimitSubjects.check(partition), encoder.encode(JSON.stringify(request)), probeDue === undefined);
      this.ownerless.delete(partition);
      return typeof reply?.allowed === 'boolean' ? reply : null;
    } catch (error) {
      if (noResponders(error)) this.ownerless.set(partition, Date.now() + this.resetMs);
      return null;
    }
  }

  /** Partitions with no owner, and when to probe each again (a breaker per partition, in effect). */
  private readonly ownerless = new Map<number, number>();

  /** A gateway stopping gives its leases back rather than leave the owner waiting them out. */
  async beforeApplicationShutdown() {
    for (const [counter, local] of this.counters) if (local.status === 'held') this.giveBack(counter, local);
    await Promise.all([...this.counters.values()].map((local) => (local.status === 'returning' ? local.done : undefined)));
  }

  onApplicationShutdown() {
    clearInterval(this.sweeper);
    this.recalls.unsubscribe();
    this.breaker.shutdown();
  }
}
