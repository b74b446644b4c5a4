import { Injectable } from '@nestjs/common';
import type { Transaction } from 'kysely';
import { readConfig } from '@keyledger/config';
import {
  ApiKeyView,
  Caller,
  CommandMeta,
  CreatedApiKeyView,
  CreateKeyRequest,
  CreateOrgReply,
  CreateOrgRequest,
  Environment,
  KeyTargetRequest,
  KeyUsageReport,
  LinkKeyRequest,
  PLAN_KEY_LIMITS,
  RollKeyReply,
  RollKeyRequest,
  Scope,
  UpdateKeyRequest,
} from '@keyledger/contracts';
import { keysRepository, lockOrg } from '@keyledger/keys-data-access';
import {
  agentDecider,
  agentStream,
  apiKeyDecider,
  apiKeyStream,
  CUSTOM_KEY_PATTERN,
  displayParts,
  DomainError,
  generateApiKey,
  generateSigningSecret,
  newId,
  orgDecider,
  orgStream,
  scopesBeyond,
} from '@keyledger/keys-domain';
import { agentView, apiKeyView, orgView, ReadModels } from '@keyledger/read-models';
import { hashApiKey, SecretSealer } from '@keyledger/secrets';
import { CommandRunner, eventMetadata, idempotencyKeyUsedElsewhere, UnitOfWork } from '@keyledger/nest';

/** What a new key is, before it has an id and a secret. */
interface KeySpec {
  orgId: string;
  name: string | null;
  environment: Environment;
  scopes: Scope[];
  agentId: string | null;
  expiresAt: string | null;
  signing: boolean;
  claimed: boolean;
  custom?: string;
  rolledFrom?: string | null;
}

/** Org and API-key commands. */
@Injectable()
export class KeyRegistryService {
  private readonly config = readConfig(['KEYLEDGER_KEY_PREFIX', 'KEYLEDGER_SECRETS_KEY']);
  private readonly sealer = this.config.KEYLEDGER_SECRETS_KEY ? new SecretSealer(this.config.KEYLEDGER_SECRETS_KEY) : null;

  constructor(private readonly runner: CommandRunner) {}

  /** A new organization and its first key (scopes `*`), whose plaintext is returned this once. */
  createOrg(request: CreateOrgRequest, meta: CommandMeta, now = new Date()): Promise<CreateOrgReply> {
    return this.runner.run(async (uow) => {
      const orgId = await this.createOrgIn(uow, request.name, request.plan ?? null, false, request.environment, meta, now);
      const key = await this.mintKey(uow, meta, now, {
        orgId,
        name: 'default',
        environment: request.environment,
        scopes: ['*'],
        agentId: null,
        expiresAt: null,
        signing: false,
        claimed: true,
      });
      const org = await (uow.trx as Transaction<ReadModels>).selectFrom('orgs').selectAll().where('id', '=', orgId).executeTakeFirstOrThrow();
      return { org: orgView(org), api_key: key };
    }, { meta, orgId: null });
  }

  /** Self-serve: an unclaimed key in a fresh sandbox org, for a caller without any credential. */
  createSelfServeKey(request: { name?: string | null; environment?: Environment }, meta: CommandMeta, now = new Date()) {
    return this.runner.run(async (uow) => {
      const environment = request.environment ?? 'test';
      const orgId = await this.createOrgIn(uow, 'Sandbox', null, true, environment, meta, now);
      return this.mintKey(uow, meta, now, {
        orgId,
        name: request.name ?? null,
        environment,
        scopes: ['*'],
        agentId: null,
        expiresAt: null,
        signing: false,
        claimed: false,
      });
    }, { meta, orgId: null });
  }

  createKey(request: CreateKeyRequest, meta: CommandMeta, now = new Date()): Promise<CreatedApiKeyView> {
    const { caller } = request;
    const scopes = request.scopes ?? caller.scopes;
    const beyond = scopesBeyond(caller.scopes, scopes);
    if (beyond.length > 0) {
      throw new DomainError('PERMISSION_DENIED', `a key can only create keys within its own scopes`, { required_scope: beyond[0] });
    }
    if (request.key !== undefined && !CUSTOM_KEY_PATTERN.test(request.key)) {
      throw new DomainError('VALIDATION_ERROR', 'key must be 32–128 characters of A-Z, a-z, 0-9, _ and -', {
        fields: [{ field: 'key', message: 'must be 32–128 characters of [A-Za-z0-9_-]' }],
      });
    }
    // A key bound to an agent acts only for that agent: its keys are that agent's too.
    if (caller.agent_id !== null && request.agent_id != null && request.agent_id !== caller.agent_id) {
      throw new DomainError('NOT_FOUND', 'no such agent');
    }
    const agentId = caller.agent_id ?? request.agent_id ?? null;
    const environment = request.environment ?? caller.environment;
    return this.runner.run(async (uow) => {
      if (agentId !== null) await this.requireUsableAgent(uow.trx, agentId, caller.org_id, environment);
      await this.enforceKeyLimit(uow.trx, caller.org_id, 1, now);
      return this.mintKey(uow, meta, now, {
        orgId: caller.org_id,
        name: request.name ?? null,
        environment,
        scopes,
        agentId,
        expiresAt: request.expires_at ?? null,
        signing: request.signing ?? false,
        claimed: true,
        custom: request.key,
      });
    }, { meta, orgId: caller.org_id });
  }

  /** Moves an unclaimed key, and everything of its sandbox org, into the caller's org. */
  linkKey(request: LinkKeyRequest, meta: CommandMeta, now = new Date()): Promise<ApiKeyView> {
    const { caller } = request;
    return this.runner.run(async (uow) => {
      const key = await keysRepository.keyByHash(uow.trx, hashApiKey(request.key));
      const sandbox = key ? await keysRepository.orgPlan(uow.trx, key.org_id) : undefined;
      if (!key || key.claimed || key.status === 'revoked' || !sandbox?.sandbox) {
        throw new DomainError('NOT_FOUND', 'no unclaimed API key matches');
      }
      const keys = (await keysRepository.keysOfOrg(uow.trx, key.org_id)).filter((k) => k.status === 'active');
      await this.enforceKeyLimit(uow.trx, caller.org_id, keys.length, now);
      const metadata = eventMetadata(meta, { environment: key.environment });
      for (const agent of await keysRepository.agentsOfOrg(uow.trx, key.org_id)) {
        if (agent.status === 'revoked') continue;
        await uow.execute(agentDecider, agentStream(agent.id), { type: 'TransferAgent', data: { to_org_id: caller.org_id, now: now.toISOString() } }, { metadata, orgId: caller.org_id });
      }
      for (const k of keys) {
        await uow.execute(apiKeyDecider, apiKeyStream(k.id), { type: 'LinkKey', data: { to_org_id: caller.org_id, now: now.toISOString() } }, { metadata, orgId: caller.org_id });
      }
      return this.keyView(uow.trx, key.id, now);
    }, {
      meta,
      orgId: caller.org_id,
      // A retry whose first answer was lost gets the key the first run linked (the key is no longer unclaimed).
      replay: async (trx, earlier) => {
        const key = await keysRepository.keyByHash(trx, hashApiKey(request.key));
        if (!key || !earlier.some((e) => e.type === 'KeyLinked' && (e.data as { key_id?: string }).key_id === key.id)) {
          idempotencyKeyUsedElsewhere();
        }
        return this.keyView(trx, key.id, now);
      },
    });
  }

  updateKey(request: UpdateKeyRequest, meta: CommandMeta, now = new Date()): Promise<ApiKeyView> {
    const { caller } = request;
    if (request.scopes !== undefined) {
      const beyond = scopesBeyond(caller.scopes, request.scopes);
      if (beyond.length > 0) throw new DomainError('PERMISSION_DENIED', 'a key can only grant scopes it holds', { required_scope: beyond[0] });
    }
    return this.runner.run(async (uow) => {
      const key = await this.requireKeyInScope(uow.trx, request);
      const changes = {
        ...(request.name !== undefined ? { name: request.name } : {}),
        ...(request.scopes !== undefined ? { scopes: request.scopes } : {}),
        ...(request.expires_at !== undefined ? { expires_at: request.expires_at } : {}),
      };
      await uow.execute(apiKeyDecider, apiKeyStream(key.id), { type: 'UpdateKey', data: { ...changes, now: now.toISOString() } }, {
        metadata: eventMetadata(meta, { environment: key.environment }),
        orgId: key.org_id,
      });
      return this.keyView(uow.trx, key.id, now);
    }, {
      meta,
      orgId: caller.org_id,
      // A retry whose first answer was lost is not applied again (it would undo a change made since): it gets the key as it is.
      replay: async (trx, earlier) => {
        if (!earlier.some((e) => e.type === 'KeyUpdated' && (e.data as { key_id?: string }).key_id === request.key_id)) {
          idempotencyKeyUsedElsewhere();
        }
        const key = await this.requireKeyInScope(trx, request);
        return this.keyView(trx, key.id, now);
      },
    });
  }

  /** Immediate and permanent; revoking again answers the same and records nothing new. */
  revokeKey(request: KeyTargetRequest, meta: CommandMeta, now = new Date()): Promise<ApiKeyView> {
    return this.runner.run(async (uow) => {
      const key = await this.requireKeyInScope(uow.trx, request);
      await uow.execute(apiKeyDecider, apiKeyStream(key.id), { type: 'RevokeKey', data: { reason: 'requested', now: now.toISOString() } }, {
        metadata: eventMetadata(meta, { environment: key.environment }),
        orgId: key.org_id,
      });
      return this.keyView(uow.trx, key.id, now);
    });
  }

  /** A new key like the old one (same expiry), and the old one expiring after the grace period. */
  rollKey(request: RollKeyRequest, meta: CommandMeta, now = new Date()): Promise<RollKeyReply> {
    return this.runner.run(async (uow) => {
      const old = await this.requireKeyInScope(uow.trx, request);
      const newKeyId = newId('key');
      await uow.execute(
        apiKeyDecider,
        apiKeyStream(old.id),
        { type: 'RollKey', data: { new_key_id: newKeyId, grace_period_seconds: request.grace_period_seconds, now: now.toISOString() } },
        { metadata: eventMetadata(meta, { environment: old.environment }), orgId: old.org_id },
      );
      const created = await this.mintKey(
        uow,
        meta,
        now,
        {
          orgId: old.org_id,
          name: old.name,
          environment: old.environment,
          scopes: old.scopes,
          agentId: old.agent_id,
          expiresAt: old.expires_at === null ? null : new Date(old.expires_at).toISOString(),
          signing: old.signing,
          claimed: old.claimed,
          rolledFrom: old.id,
        },
        newKeyId,
      );
      return { api_key: created, previous: await this.keyView(uow.trx, old.id, now) };
    }, { meta, orgId: request.caller.org_id });
  }

  /** The key a completed device authorization issues: bound to the approved agent, with the approved scopes. */
  async mintKeyForDevice(
    uow: UnitOfWork,
    meta: CommandMeta,
    now: Date,
    keyId: string,
    device: { org_id: string; environment: Environment; agent_id: string; scopes: Scope[]; agent_name: string },
  ): Promise<CreatedApiKeyView> {
    await this.enforceKeyLimit(uow.trx, device.org_id, 1, now);
    return this.mintKey(
      uow,
      { ...meta, agent_id: device.agent_id },
      now,
      {
        orgId: device.org_id,
        name: device.agent_name,
        environment: device.environment,
        scopes: device.scopes,
        agentId: device.agent_id,
        expiresAt: null,
        signing: false,
        claimed: true,
      },
      keyId,
    );
  }

  /** Gateways report which keys were used; kept as telemetry, not as events. */
  async recordKeyUsage(report: KeyUsageReport): Promise<void> {
    await this.runner.run((uow) => keysRepository.recordKeyUsage(uow.trx, report.used));
  }

  private async createOrgIn(
    uow: UnitOfWork,
    name: string,
    plan: CreateOrgRequest['plan'] | null,
    sandbox: boolean,
    environment: Environment,
    meta: CommandMeta,
    now: Date,
  ): Promise<string> {
    const orgId = newId('org');
    await uow.execute(orgDecider, orgStream(orgId), { type: 'CreateOrg', data: { org_id: orgId, name, plan: plan ?? null, sandbox, now: now.toISOString() } }, {
      metadata: eventMetadata(meta, { environment }),
      orgId,
    });
    return orgId;
  }

  /** Generates (or takes the custom) secret, appends KeyCreated, and returns the key with its plaintext. */
  private async mintKey(uow: UnitOfWork, meta: CommandMeta, now: Date, spec: KeySpec, keyId = newId('key')): Promise<CreatedApiKeyView> {
    const plaintext = spec.custom ?? generateApiKey(this.config.KEYLEDGER_KEY_PREFIX, spec.environment);
    const keyHash = hashApiKey(plaintext);
    if (await keysRepository.keyByHash(uow.trx, keyHash)) throw new DomainError('CONFLICT', 'this key is already in use');
    let signingSecret: string | null = null;
    if (spec.signing) {
      if (!this.sealer) {
        throw new DomainError('VALIDATION_ERROR', 'request signing is not configured on this deployment (KEYLEDGER_SECRETS_KEY)', {
          fields: [{ field: 'signing', message: 'not available on this deployment' }],
        });
      }
      signingSecret = generateSigningSecret();
    }
    await uow.execute(
      apiKeyDecider,
      apiKeyStream(keyId),
      {
        type: 'CreateKey',
        data: {
          key_id: keyId,
          org_id: spec.orgId,
          name: spec.name,
          key_hash: keyHash,
          ...displayParts(plaintext),
          environment: spec.environment,
          scopes: spec.scopes,
          agent_id: spec.agentId,
          expires_at: spec.expiresAt,
          signing: spec.signing,
          claimed: spec.claimed,
          rolled_from: spec.rolledFrom ?? null,
          now: now.toISOString(),
        },
      },
      { metadata: eventMetadata(meta, { environment: spec.environment, agent_id: meta.agent_id ?? spec.agentId }), orgId: spec.orgId },
    );
    // Sealed, beside the event and in its transaction: never in the log, which every auditor reads and exports.
    if (signingSecret !== null) await keysRepository.storeSigningSecret(uow.trx, keyId, this.sealer!.seal(signingSecret));
    const view = await this.keyView(uow.trx, keyId, now);
    return signingSecret === null ? { ...view, key: plaintext } : { ...view, key: plaintext, signing_secret: signingSecret };
  }

  private async keyView(trx: Transaction<any>, keyId: string, now: Date): Promise<ApiKeyView> {
    const db = trx as Transaction<ReadModels>;
    const row = await keysRepository.keyById(db, keyId);
    if (!row) throw new DomainError('NOT_FOUND', 'no such API key');
    return apiKeyView(row, now, await keysRepository.lastUsedAt(db, keyId));
  }

  /** The target key if the caller may see it: same org and environment, and its own agent's if bound. */
  private async requireKeyInScope(trx: Transaction<any>, request: KeyTargetRequest) {
    const { caller } = request;
    const key = await keysRepository.keyInScope(trx, request.key_id, caller.org_id, caller.environment);
    if (!key || (caller.agent_id !== null && key.agent_id !== caller.agent_id)) throw new DomainError('NOT_FOUND', 'no such API key');
    return key;
  }

  private async requireUsableAgent(trx: Transaction<any>, agentId: string, orgId: string, environment: Environment) {
    const agent = await keysRepository.agentInScope(trx, agentId, orgId, environment);
    if (!agent) throw new DomainError('NOT_FOUND', 'no such agent');
    if (agent.status === 'revoked') throw new DomainError('AGENT_REVOKED', 'this agent has been revoked');
    return agentView(agent, new Date());
  }

  /** Serialized per org, so concurrent creations cannot pass the plan's limit together. */
  private async enforceKeyLimit(trx: Transaction<any>, orgId: string, adding: number, now: Date): Promise<void> {
    await lockOrg(trx, orgId);
    const org = await keysRepository.orgPlan(trx, orgId);
    const limit = PLAN_KEY_LIMITS[org?.plan ?? 'none'];
    if (limit === null) return;
    const live = await keysRepository.countLiveKeys(trx, orgId, now);
    if (live + adding > limit) {
      throw new DomainError('PLAN_LIMIT_REACHED', `the ${org?.plan ?? 'default'} plan allows ${limit} active keys`, { limit, current: live });
    }
  }
}

export type { Caller };
