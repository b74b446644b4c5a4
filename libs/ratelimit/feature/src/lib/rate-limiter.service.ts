import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  CounterLeaseReply,
  CounterLeaseRequest,
  CounterRecall,
  CounterRecallReply,
  RATE_LIMIT_PARTITIONS,
  RateLimitCheckReply,
  RateLimitCheckRequest,
  RateLimits,
  RateLimitSubjects,
} from '@keyledger/contracts';
import { DB, LOGGER, NATS_CONNECTION } from '@keyledger/nest';
import { checkRateLimit, Counters, CounterUsage, forfeitedCounters, isIdle, LEASE_TTL_MS, mayLease, noteUser } from '@keyledger/ratelimit-domain';
import { PartitionLeases } from './partition-leases';

interface Entry {
  counters: Counters;
  /** The limits last applied, to tell when the counters are back to a fresh start. */
  limits: RateLimits;
  /** Which gateway used the counter last, and since when alone (monotonic clock). */
  usage?: CounterUsage;
  /**
   * The gateway holding the counter now. `counters` is then the last snapshot it sent, taken at
   * `countersAt` (epoch ms); `expiresAt` is on this process's monotonic clock.
   */
  lease?: { id: string; holder: string; countersAt: number; expiresAt: number };
  /** A recall in progress: the counter's checks wait for it, in order. */
  recalling?: Promise<void>;
}

interface OwnedPartition {
  subscription: Subscription;
  counters: Map<string, Entry>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SWEEP_MS = 10_000;
/** After its time, a lease's return is given this long to arrive before the lease counts as spent. */
const RETURN_GRACE_MS = 250;
/** A holder that is there but slow (a busy event loop) is waited for this much longer: its counters are final once its time is up. */
const SLOW_HOLDER_GRACE_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const monotonic = () => performance.now();

/**
 * Answers rate-limit checks for the partitions this instance owns, from counters held in memory.
 * Each partition's subject has exactly one subscriber (its owner) and Node runs one callback at a
 * time, so every check of an org is decided in order against one set of counters: exact, however
 * many gateways send. Counters are live state, not events: when a partition changes owner they
 * start again full.
 *
 * A gateway that has been a counter's only user for a while gets the counter itself on lease
 * (`LEASE_TTL_MS`, extended while in use) and decides its checks locally with the same function. The
 * owner decides nothing for a leased counter: when another gateway asks, it recalls the lease first;
 * a holder that cannot be reached forfeits it (counted as spent) once the lease's time is up.
 */
@Injectable()
export class RateLimiterService implements OnModuleInit, OnApplicationShutdown {
  private readonly partitions = new Map<number, OwnedPartition>();
  private readonly leases: PartitionLeases;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    @Inject(DB) db: Kysely<any>,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.leases = new PartitionLeases({
      db,
      partitions: RATE_LIMIT_PARTITIONS,
      pollMs: 250,
      settleMs: 1000,
      onAcquire: (p) => this.own(p),
      onRelease: (p) => this.disown(p),
      onError: (error) => this.logger.warn({ err: error }, 'rate-limit partition leases lost; retrying'),
    });
  }

  async onModuleInit() {
    await this.leases.start();
    this.logger.info({ partitions: [...this.leases.owned].length }, 'rate-limit partitions owned');
    this.sweeper = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.sweeper.unref();
  }

  async onApplicationShutdown() {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.leases.stop();
  }

  /** Decides one check against the counters of its key, keeps what it consumed, and leases the counter if it may. */
  private decide(partition: Map<string, Entry>, request: RateLimitCheckRequest, now: number): RateLimitCheckReply {
    const previous = partition.get(request.counter);
    const decision = checkRateLimit(previous?.counters, request, now);
    const entry: Entry = { counters: decision.counters, limits: request.limits, usage: previous?.usage };
    partition.set(request.counter, entry);
    if (request.gateway === undefined) return decision.reply;
    const at = monotonic();
    entry.usage = noteUser(entry.usage, request.gateway, at);
    if (!request.wants_lease || !mayLease(entry.usage, request.gateway, at)) return decision.reply;
    entry.lease = { id: randomUUID(), holder: request.gateway, countersAt: now, expiresAt: at + LEASE_TTL_MS };
    return { ...decision.reply, lease: { id: entry.lease.id, ttl_ms: LEASE_TTL_MS, counters: decision.counters } };
  }

  /** Extends a lease still out to the same holder, or takes its counters back. */
  private leaseRequest(partition: Map<string, Entry>, request: CounterLeaseRequest): CounterLeaseReply {
    const entry = partition.get(request.counter);
    const lease = entry?.lease;
    if (!entry || lease?.id !== request.lease_id) return { ok: false };
    entry.counters = request.counters;
    if (request.limits) entry.limits = request.limits;
    if (request.lease === 'return') {
      entry.lease = undefined;
      return { ok: true };
    }
    lease.countersAt = request.counters_at;
    // A lease being recalled runs out instead: its holder returns it at its time, or answers the recall.
    if (entry.recalling) return { ok: false };
    lease.expiresAt = monotonic() + LEASE_TTL_MS;
    return { ok: true, ttl_ms: LEASE_TTL_MS };
  }

  /** One recall per leased counter at a time; every check of the counter waits for it. */
  private reclaim(counter: string, entry: Entry): Promise<void> {
    entry.recalling ??= this.recall(counter, entry).finally(() => (entry.recalling = undefined));
    return entry.recalling;
  }

  /**
   * Asks the holder for the counters. A holder that does not answer may still decide until the
   * lease's time is up, and gives the counters back by itself then; if even that does not arrive,
   * the lease counts as spent.
   */
  private async recall(counter: string, entry: Entry): Promise<void> {
    const lease = entry.lease;
    if (!lease) return;
    const stillOut = () => entry.lease?.id === lease.id;
    const recall: CounterRecall = { schema_version: 1, counter, lease_id: lease.id };
    try {
      const reply = await this.nats.request(RateLimitSubjects.holder(lease.holder), encoder.encode(JSON.stringify(recall)), {
        timeout: Math.max(50, lease.expiresAt - monotonic()) + SLOW_HOLDER_GRACE_MS,
      });
      const given = JSON.parse(decoder.decode(reply.data)) as CounterRecallReply;
      if (stillOut() && given.counters) {
        entry.counters = given.counters;
        if (given.limits) entry.limits = given.limits;
        entry.lease = undefined;
      }
    } catch {
      // No holder on NATS (gone, or cut off and so unable to return either): wait for the lease's time to be up.
    }
    if (!stillOut()) return;
    // The holder stops deciding before the owner's expiry, so that is all the wait exactness needs.
    await sleep(lease.expiresAt - monotonic());
    if (stillOut()) this.forfeit(entry);
  }

  private forfeit(entry: Entry): void {
    this.logger.warn({ holder: entry.lease?.holder }, 'rate-limit counter lease not given back: counted as spent');
    entry.counters = forfeitedCounters(entry.counters, entry.limits, entry.lease?.countersAt ?? Date.now(), Date.now());
    entry.lease = undefined;
  }

  private own(partition: number): void {
    const counters = new Map<string, Entry>();
    const subscription = this.nats.subscribe(RateLimitSubjects.check(partition), {
      callback: (error, msg) => {
        if (error) return;
        this.answer(counters, msg);
      },
    });
    this.partitions.set(partition, { subscription, counters });
    this.logger.debug({ partition }, 'rate-limit partition acquired');
  }

  private disown(partition: number): void {
    const owned = this.partitions.get(partition);
    if (!owned) return;
    owned.subscription.unsubscribe();
    this.partitions.delete(partition);
    this.logger.info({ partition }, 'rate-limit partition released');
  }

  private answer(counters: Map<string, Entry>, msg: Msg, parsed?: RateLimitCheckRequest): void {
    try {
      const request = parsed ?? (JSON.parse(decoder.decode(msg.data)) as RateLimitCheckRequest | CounterLeaseRequest);
      if ('lease' in request) return this.respond(msg, this.leaseRequest(counters, request));
      const entry = counters.get(request.counter);
      if (entry?.lease || entry?.recalling) {
        // Checks queue behind the recall in arrival order (promise callbacks run in the order they were added).
        void this.reclaim(request.counter, entry).then(() => this.answer(counters, msg, request));
        return;
      }
      this.respond(msg, this.decide(counters, request, Date.now()));
    } catch (error) {
      // A check this version cannot read is answered, not thrown: the gateway applies its fail mode.
      this.logger.warn({ err: error, subject: msg.subject }, 'undecidable rate-limit check');
      this.respond(msg, { error: 'undecidable check' });
    }
  }

  private respond(msg: Msg, reply: unknown): void {
    msg.respond(encoder.encode(JSON.stringify(reply)));
  }

  /** Forgets counters that are back to a fresh start, so memory follows the active keys only. */
  private sweep(now: number): void {
    for (const { counters } of this.partitions.values()) {
      for (const [key, entry] of counters) {
        if (entry.recalling) continue;
        // A holder gone without a word and nobody asking since: the lease counts as spent.
        if (entry.lease && monotonic() > entry.lease.expiresAt + RETURN_GRACE_MS) this.forfeit(entry);
        if (!entry.lease && isIdle(entry.counters, entry.limits, now)) counters.delete(key);
      }
    }
  }
}
