import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { Events, JSONCodec, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { readConfig } from '@keyledger/config';
import { EventSubjects } from '@keyledger/contracts';
import { DB, LOGGER, NATS_CONNECTION } from '@keyledger/nest';
import { Credential, findCredentialByHash, ReadModels } from '@keyledger/read-models';

interface Entry {
  credential: Credential;
  expiresAt: number;
  /** The signing secret, unsealed once and kept in memory only. */
  signingSecret?: string;
}

const codec = JSONCodec<{ data?: { key_id?: string; agent_id?: string; org_id?: string } }>();

/**
 * Key lookups from the read model, cached in memory. A cached key is dropped the moment a key,
 * agent or org event about it arrives over NATS, with a short TTL as a safety net. Before trusting
 * a cached entry the cache makes sure it has read every notification the server already routed to
 * it (a NATS flush round trip, shared by all requests waiting at that moment): the key-registry
 * publishes and flushes a revocation before it replies, so once a revoke call has returned, no
 * gateway accepts the key. Without NATS the cache is bypassed.
 */
@Injectable()
export class KeyCache implements OnModuleInit, OnApplicationShutdown {
  private readonly entries = new Map<string, Entry>();
  private readonly byKey = new Map<string, string>();
  private readonly byAgent = new Map<string, Set<string>>();
  private readonly byOrg = new Map<string, Set<string>>();
  private readonly ttlMs = readConfig(['KEYLEDGER_KEY_CACHE_TTL_MS']).KEYLEDGER_KEY_CACHE_TTL_MS;
  private subscriptions: Subscription[] = [];
  private connected = true;
  private pendingSync: Promise<boolean> | null = null;
  private nextSync: Promise<boolean> | null = null;
  private readonly lookups = new Map<string, Promise<Credential | null>>();

  constructor(
    @Inject(DB) private readonly db: Kysely<ReadModels>,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit() {
    for (const subject of [EventSubjects.keys, EventSubjects.agents, EventSubjects.orgs]) {
      this.subscriptions.push(
        this.nats.subscribe(subject, { callback: (_error, msg) => this.invalidate(msg.data, subject === EventSubjects.orgs) }),
      );
    }
    void (async () => {
      for await (const status of this.nats.status()) {
        if (status.type === Events.Disconnect) {
          this.connected = false;
          this.clear();
        } else if (status.type === Events.Reconnect) {
          // Notifications sent while we were away are lost: start from nothing.
          this.clear();
          this.connected = true;
        }
      }
    })().catch(() => undefined);
  }

  onApplicationShutdown() {
    for (const s of this.subscriptions) s.unsubscribe();
  }

  get size(): number {
    return this.entries.size;
  }

  async lookup(keyHash: string): Promise<{ credential: Credential; entry: Entry } | null> {
    const cached = this.entries.get(keyHash);
    if (cached && cached.expiresAt > Date.now() && this.connected && (await this.synced()) && this.entries.get(keyHash) === cached) {
      return { credential: cached.credential, entry: cached };
    }
    const credential = await this.findOnce(keyHash);
    if (credential === null) return null;
    const entry: Entry = { credential, expiresAt: Date.now() + this.ttlMs };
    if (this.ttlMs > 0 && this.connected) this.remember(keyHash, entry);
    return { credential, entry };
  }

  /**
   * Concurrent misses for one key share one query, so an entry expiring under load is not a
   * stampede on the pool. A request joins a query in flight only once every event notification
   * routed before it arrived has been handled (an invalidation clears the queries in flight).
   */
  private async findOnce(keyHash: string): Promise<Credential | null> {
    const pending = this.lookups.get(keyHash);
    if (pending && this.connected && (await this.synced()) && this.lookups.get(keyHash) === pending) return pending;
    const fresh = findCredentialByHash(this.db, keyHash).finally(() => {
      if (this.lookups.get(keyHash) === fresh) this.lookups.delete(keyHash);
    });
    this.lookups.set(keyHash, fresh);
    return fresh;
  }

  clear(): void {
    this.lookups.clear();
    this.entries.clear();
    this.byKey.clear();
    this.byAgent.clear();
    this.byOrg.clear();
  }

  /** Resolves once every message the server routed to us before now has been handled. */
  private synced(): Promise<boolean> {
    if (!this.pendingSync) return this.startFlush();
    // The flush in flight may have left before this request arrived; the next one did not.
    this.nextSync ??= this.pendingSync.then(() => {
      this.nextSync = null;
      return this.startFlush();
    });
    return this.nextSync;
  }

  private startFlush(): Promise<boolean> {
    const flush: Promise<boolean> = this.nats.flush().then(
      () => true,
      () => false,
    );
    this.pendingSync = flush.finally(() => {
      if (this.pendingSync === tracked) this.pendingSync = null;
    });
    const tracked = this.pendingSync;
    return flush;
  }

  private remember(keyHash: string, entry: Entry): void {
    this.entries.set(keyHash, entry);
    const { key, org, agent } = entry.credential;
    this.byKey.set(key.id, keyHash);
    if (agent) (this.byAgent.get(agent.id) ?? this.byAgent.set(agent.id, new Set()).get(agent.id)!).add(keyHash);
    (this.byOrg.get(org.id) ?? this.byOrg.set(org.id, new Set()).get(org.id)!).add(keyHash);
  }

  /** Drops what an event is about: its key, its agent's keys, or (org events only) the org's keys. */
  private invalidate(raw: Uint8Array, orgEvent: boolean): void {
    // A lookup already in flight may predate this event: later requests must not share its answer.
    this.lookups.clear();
    let data;
    try {
      data = codec.decode(raw).data ?? {};
    } catch {
      this.logger.warn('undecodable event notification; dropping the whole key cache');
      this.clear();
      return;
    }
    if (data.key_id) this.drop(this.byKey.get(data.key_id));
    if (data.agent_id) for (const hash of this.byAgent.get(data.agent_id) ?? []) this.drop(hash);
    if (orgEvent && data.org_id) for (const hash of this.byOrg.get(data.org_id) ?? []) this.drop(hash);
  }

  private drop(keyHash: string | undefined): void {
    if (keyHash === undefined) return;
    const entry = this.entries.get(keyHash);
    if (!entry) return;
    this.entries.delete(keyHash);
    const { key, org, agent } = entry.credential;
    this.byKey.delete(key.id);
    if (agent) this.byAgent.get(agent.id)?.delete(keyHash);
    this.byOrg.get(org.id)?.delete(keyHash);
  }
}
