import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import {
  CommandMeta,
  DecideDeviceRequest,
  DeviceAuthorizationView,
  RedeemDeviceReply,
  RequestDeviceRequest,
} from '@keyledger/contracts';
import { EventStore } from '@keyledger/event-store';
import { keysRepository, lockOrg } from '@keyledger/keys-data-access';
import {
  ApprovedDevice,
  DEVICE_CODE_TTL_SECONDS,
  DEVICE_POLL_INTERVAL_SECONDS,
  deviceAuthorizationDecider,
  deviceStream,
  DomainError,
  generateDeviceCode,
  generateUserCode,
  newId,
  normalizeUserCode,
  scopesBeyond,
} from '@keyledger/keys-domain';
import { hashApiKey } from '@keyledger/secrets';
import { agentView } from '@keyledger/read-models';
import { AgentsService } from './agents.service';
import { CommandRunner, eventMetadata } from '@keyledger/nest';
import { KeyRegistryService } from './key-registry.service';

/** After this many wrong user codes within the window, an org may not approve for the window. */
export const APPROVAL_FAILURE_LIMIT = 5;
export const APPROVAL_LOCKOUT_SECONDS = 15 * 60;
const lockStream = (orgId: string) => `devicelock-${orgId}`;

/** RFC 8628 device authorization: an agent asks, a person approves, the agent polls for its key. */
@Injectable()
export class DeviceAuthorizationService {
  constructor(
    private readonly runner: CommandRunner,
    private readonly store: EventStore,
    private readonly agents: AgentsService,
    private readonly keys: KeyRegistryService,
  ) {}

  request(request: RequestDeviceRequest, meta: CommandMeta, now = new Date()): Promise<DeviceAuthorizationView> {
    const deviceId = newId('dev');
    const deviceCode = generateDeviceCode();
    const userCode = generateUserCode();
    return this.runner.run(async (uow) => {
      await uow.execute(
        deviceAuthorizationDecider,
        deviceStream(deviceId),
        {
          type: 'RequestDeviceAuthorization',
          data: {
            device_id: deviceId,
            device_code_hash: hashApiKey(deviceCode),
            user_code: userCode,
            agent_name: request.agent_name,
            scopes: request.scopes ?? [],
            now: now.toISOString(),
          },
        },
        { metadata: eventMetadata(meta), orgId: null },
      );
      return {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: request.verification_uri,
        verification_uri_complete: `${request.verification_uri}?user_code=${encodeURIComponent(userCode)}`,
        expires_in: DEVICE_CODE_TTL_SECONDS,
        interval: DEVICE_POLL_INTERVAL_SECONDS,
      };
    });
  }

  /** Binds the request to the approver's org and to an agent (an existing one, or a new one). */
  approve(request: DecideDeviceRequest, meta: CommandMeta, now = new Date()) {
    const { caller } = request;
    if (caller.agent_id !== null) {
      throw new DomainError('PERMISSION_DENIED', 'a key bound to an agent cannot approve devices', { required_scope: 'agents:write' });
    }
    return this.decideWithLockout(request, meta, now, async (uow, device) => {
      const scopes = device.scopes.length > 0 ? device.scopes : caller.scopes;
      const beyond = scopesBeyond(caller.scopes, scopes);
      if (beyond.length > 0) throw new DomainError('PERMISSION_DENIED', 'the device asks for scopes the approver lacks', { required_scope: beyond[0] });
      let agent;
      if (request.agent_id !== undefined) {
        const row = await keysRepository.agentInScope(uow.trx, request.agent_id, caller.org_id, caller.environment);
        if (!row) throw new DomainError('NOT_FOUND', 'no such agent');
        if (row.status === 'revoked') throw new DomainError('AGENT_REVOKED', 'this agent has been revoked');
        agent = agentView(row, now);
      } else {
        agent = await this.agents.createAgentIn(uow, caller, device.agent_name, {}, meta, now);
      }
      await uow.execute(
        deviceAuthorizationDecider,
        deviceStream(device.id),
        {
          type: 'ApproveDeviceAuthorization',
          data: { org_id: caller.org_id, environment: caller.environment, agent_id: agent.id, scopes, approved_by: caller.key_id, now: now.toISOString() },
        },
        { metadata: eventMetadata(meta, { environment: caller.environment, agent_id: agent.id }), orgId: caller.org_id },
      );
      return { agent };
    });
  }

  deny(request: DecideDeviceRequest, meta: CommandMeta, now = new Date()) {
    const { caller } = request;
    return this.decideWithLockout(request, meta, now, async (uow, device) => {
      await uow.execute(
        deviceAuthorizationDecider,
        deviceStream(device.id),
        { type: 'DenyDeviceAuthorization', data: { org_id: caller.org_id, denied_by: caller.key_id, now: now.toISOString() } },
        { metadata: eventMetadata(meta, { environment: caller.environment }), orgId: caller.org_id },
      );
      return { denied: true };
    });
  }

  /** The agent's poll: an error until approved (pending, slow down, denied, expired), then its key, once. */
  async redeem(request: { device_code: string }, meta: CommandMeta, now = new Date()): Promise<RedeemDeviceReply> {
    const outcome = await this.runner.run(async (uow) => {
      const device = await keysRepository.deviceByCodeHash(uow.trx, hashApiKey(request.device_code));
      if (!device) return { error: new DomainError('EXPIRED_TOKEN', 'unknown or expired device code') };
      // One poll of a device code at a time: polls are counted and a code is redeemed exactly once.
      await sql`select pg_advisory_xact_lock(hashtextextended(${'device:' + device.id}, 0))`.execute(uow.trx);
      const lastPolled = await keysRepository.lastPolledAt(uow.trx, device.id);
      await keysRepository.recordPoll(uow.trx, device.id, now);
      const { state } = await uow.load(deviceAuthorizationDecider, deviceStream(device.id));
      const keyId = newId('key');
      const metadata = eventMetadata(meta, { environment: device.environment, agent_id: device.agent_id });
      let events;
      try {
        ({ events } = await uow.execute(
          deviceAuthorizationDecider,
          deviceStream(device.id),
          { type: 'RedeemDeviceCode', data: { key_id: keyId, last_polled_at: lastPolled?.toISOString() ?? null, now: now.toISOString() } },
          { metadata, orgId: device.org_id },
        ));
      } catch (error) {
        if (error instanceof DomainError) return { error };
        throw error;
      }
      const event = events[0];
      if (event === undefined) return { error: new DomainError('AUTHORIZATION_PENDING', 'the request has not been approved yet') };
      if (event.type === 'DevicePollingSlowed') {
        return { error: new DomainError('SLOW_DOWN', 'polling too fast; wait longer between polls', { interval: event.data.interval }) };
      }
      const approved = state as ApprovedDevice;
      const key = await this.keys.mintKeyForDevice(uow, meta, now, keyId, approved);
      const agentRow = await keysRepository.agentById(uow.trx, approved.agent_id);
      return { reply: { api_key: key, agent: agentView(agentRow!, now) } };
    });
    if ('error' in outcome && outcome.error) throw outcome.error;
    return (outcome as { reply: RedeemDeviceReply }).reply;
  }

  /**
   * Finds the pending request for a user code and runs `decide` on it; a wrong code is recorded
   * (so it counts toward the lockout even across instances) and answered 404.
   */
  private async decideWithLockout<T>(
    request: DecideDeviceRequest,
    meta: CommandMeta,
    now: Date,
    decide: (uow: Parameters<Parameters<CommandRunner['run']>[0]>[0], device: { id: string; agent_name: string; scopes: DecideDeviceRequest['caller']['scopes'] }) => Promise<T>,
  ): Promise<T> {
    const { caller } = request;
    const outcome = await this.runner.run(async (uow) => {
      await lockOrg(uow.trx, caller.org_id);
      const failures = await this.recentFailures(uow.trx, caller.org_id, now);
      if (failures.length >= APPROVAL_FAILURE_LIMIT) {
        const oldest = failures[failures.length - APPROVAL_FAILURE_LIMIT];
        const retryAfter = Math.max(1, Math.ceil((Date.parse(oldest) + APPROVAL_LOCKOUT_SECONDS * 1000 - now.getTime()) / 1000));
        return { error: new DomainError('RATE_LIMITED', 'too many wrong user codes; approvals are locked for this organization', { retry_after: retryAfter, limit: APPROVAL_FAILURE_LIMIT }) };
      }
      const userCode = normalizeUserCode(request.user_code);
      const device = userCode === null ? null : await keysRepository.pendingDeviceByUserCode(uow.trx, userCode, now);
      if (!device) {
        await this.store.append(lockStream(caller.org_id), 'any', [{ type: 'DeviceApprovalFailed', data: { org_id: caller.org_id, at: now.toISOString() } }], eventMetadata(meta, { environment: caller.environment }), {
          trx: uow.trx,
          orgId: caller.org_id,
        });
        return { error: new DomainError('NOT_FOUND', 'no pending request with this user code') };
      }
      return { result: await decide(uow, { id: device.id, agent_name: device.agent_name, scopes: device.scopes }) };
    });
    if ('error' in outcome && outcome.error) throw outcome.error;
    return (outcome as { result: T }).result;
  }

  /** Times of this org's wrong user codes within the lockout window, oldest first. */
  private async recentFailures(trx: Parameters<Parameters<CommandRunner['run']>[0]>[0]['trx'], orgId: string, now: Date): Promise<string[]> {
    const since = new Date(now.getTime() - APPROVAL_LOCKOUT_SECONDS * 1000).toISOString();
    const rows = await trx
      .selectFrom('events')
      .select(sql<string>`data->>'at'`.as('at'))
      .where('stream', '=', lockStream(orgId))
      .where(sql<string>`data->>'at'`, '>', since)
      .orderBy('stream_version')
      .execute();
    return rows.map((r: { at: string }) => r.at);
  }
}
