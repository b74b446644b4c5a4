import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import {
  AgentTargetRequest,
  AgentView,
  Caller,
  CommandMeta,
  CreateAgentRequest,
  PauseAgentRequest,
  UpdateAgentRequest,
} from '@keyledger/contracts';
import { keysRepository } from '@keyledger/keys-data-access';
import { agentDecider, agentStream, apiKeyDecider, apiKeyStream, DomainError, newId } from '@keyledger/keys-domain';
import { agentView } from '@keyledger/read-models';
import { CommandRunner, eventMetadata, idempotencyKeyUsedElsewhere, LOGGER, UnitOfWork } from '@keyledger/nest';

/** A key bound to an agent acts only for that agent: it cannot manage other agents or create new ones. */
function requireUnboundCaller(caller: Caller): void {
  if (caller.agent_id !== null) {
    throw new DomainError('PERMISSION_DENIED', 'a key bound to an agent cannot manage agents', { required_scope: 'agents:write' });
  }
}

@Injectable()
export class AgentsService {
  constructor(private readonly runner: CommandRunner) {}

  createAgent(request: CreateAgentRequest, meta: CommandMeta, now = new Date()): Promise<AgentView> {
    requireUnboundCaller(request.caller);
    return this.runner.run((uow) => this.createAgentIn(uow, request.caller, request.name, request.metadata ?? {}, meta, now), {
      meta,
      orgId: request.caller.org_id,
      // A retry whose first answer was lost gets the agent that first run created.
      replay: async (trx, earlier) => {
        const created = earlier.find((e) => e.type === 'AgentCreated');
        if (!created) idempotencyKeyUsedElsewhere();
        return this.view(trx, (created.data as { agent_id: string }).agent_id, now);
      },
    });
  }

  /** Creates an agent inside a running command (also used by device approval). */
  async createAgentIn(uow: UnitOfWork, caller: Caller, name: string, metadata: Record<string, unknown>, meta: CommandMeta, now: Date) {
    const agentId = newId('agt');
    await uow.execute(
      agentDecider,
      agentStream(agentId),
      { type: 'CreateAgent', data: { agent_id: agentId, org_id: caller.org_id, environment: caller.environment, name, metadata, now: now.toISOString() } },
      { metadata: eventMetadata(meta, { environment: caller.environment, agent_id: agentId }), orgId: caller.org_id },
    );
    return this.view(uow.trx, agentId, now);
  }

  updateAgent(request: UpdateAgentRequest, meta: CommandMeta, now = new Date()): Promise<AgentView> {
    const changes = {
      ...(request.name !== undefined ? { name: request.name } : {}),
      ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
    };
    return this.onAgent(request, meta, now, { type: 'UpdateAgent', data: { ...changes, now: now.toISOString() } });
  }

  pauseAgent(request: PauseAgentRequest, meta: CommandMeta, now = new Date()): Promise<AgentView> {
    requireUnboundCaller(request.caller);
    return this.onAgent(request, meta, now, { type: 'PauseAgent', data: { duration: request.duration, now: now.toISOString() } });
  }

  resumeAgent(request: AgentTargetRequest, meta: CommandMeta, now = new Date()): Promise<AgentView> {
    requireUnboundCaller(request.caller);
    return this.onAgent(request, meta, now, { type: 'ResumeAgent', data: { automatic: false, now: now.toISOString() } });
  }

  /** Permanent: the agent and every key bound to it are revoked, in one transaction. */
  revokeAgent(request: AgentTargetRequest, meta: CommandMeta, now = new Date()): Promise<AgentView> {
    requireUnboundCaller(request.caller);
    return this.runner.run(async (uow) => {
      const agent = await this.requireAgentInScope(uow.trx, request);
      const metadata = eventMetadata(meta, { environment: agent.environment, agent_id: agent.id });
      await uow.execute(agentDecider, agentStream(agent.id), { type: 'RevokeAgent', data: { now: now.toISOString() } }, { metadata, orgId: agent.org_id });
      for (const key of await keysRepository.activeKeysOfAgent(uow.trx, agent.id)) {
        await uow.execute(apiKeyDecider, apiKeyStream(key.id), { type: 'RevokeKey', data: { reason: 'agent_revoked', now: now.toISOString() } }, {
          metadata,
          orgId: agent.org_id,
        });
      }
      return this.view(uow.trx, agent.id, now);
    });
  }

  /** Records the end of every pause whose time has passed (the read side already treats it as over). */
  async resumeDuePauses(now = new Date()): Promise<number> {
    const due = await this.runner.run((uow) => keysRepository.agentsDueForResume(uow.trx, now));
    let resumed = 0;
    for (const agent of due) {
      const meta: CommandMeta = { request_id: `sys_auto_resume`, actor_key_id: null, agent_id: agent.id, ip: null, idempotency_key: null };
      await this.runner
        .run((uow) =>
          uow.execute(agentDecider, agentStream(agent.id), { type: 'ResumeAgent', data: { automatic: true, now: now.toISOString() } }, {
            metadata: eventMetadata(meta, { environment: agent.environment }),
            orgId: agent.org_id,
          }),
        )
        .then(() => resumed++)
        .catch(() => undefined); // another instance resumed it first, or it was revoked meanwhile
    }
    return resumed;
  }

  /** With the retry check: a pause (or update) retried after its answer was lost must not act again. */
  private onAgent(request: AgentTargetRequest, meta: CommandMeta, now: Date, command: Parameters<typeof agentDecider.decide>[0]) {
    return this.runner.run(
      async (uow) => {
        const agent = await this.requireAgentInScope(uow.trx, request);
        await uow.execute(agentDecider, agentStream(agent.id), command, {
          metadata: eventMetadata(meta, { environment: agent.environment, agent_id: agent.id }),
          orgId: agent.org_id,
        });
        return this.view(uow.trx, agent.id, now);
      },
      { meta, orgId: request.caller.org_id },
    );
  }

  private async requireAgentInScope(trx: Transaction<any>, request: AgentTargetRequest) {
    const { caller } = request;
    const agent = await keysRepository.agentInScope(trx, request.agent_id, caller.org_id, caller.environment);
    if (!agent || (caller.agent_id !== null && caller.agent_id !== agent.id)) throw new DomainError('NOT_FOUND', 'no such agent');
    return agent;
  }

  private async view(trx: Transaction<any>, agentId: string, now: Date): Promise<AgentView> {
    const row = await keysRepository.agentById(trx, agentId);
    if (!row) throw new DomainError('NOT_FOUND', 'no such agent');
    return agentView(row, now);
  }
}

/** Sweeps finished pauses into AgentResumed events once a second. */
@Injectable()
export class AutoResumeSweep implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly agents: AgentsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit() {
    this.timer = setInterval(() => {
      this.running = this.agents.resumeDuePauses().catch((error: unknown) => this.logger.warn({ err: error }, 'auto-resume sweep failed'));
    }, 1000);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
