import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import {
  AgentTargetRequest,
  ChangePlanRequest,
  RateLimitSubjects,
  CommandMessage,
  CreateAgentRequest,
  CreateKeyRequest,
  CreateOrgRequest,
  DecideDeviceRequest,
  Environment,
  KeyTargetRequest,
  KeyUsageReport,
  LinkKeyRequest,
  PauseAgentRequest,
  RequestDeviceRequest,
  RollKeyRequest,
  Subjects,
  UpdateAgentRequest,
  UpdateKeyRequest,
} from '@keyledger/contracts';
import { AgentsService } from './agents.service';
import { DeviceAuthorizationService } from './device-authorization.service';
import { KeyRegistryService } from './key-registry.service';
import { OrgPlansService } from './org-plans.service';

/** Key-registry commands over NATS: each handler hands the message to the service that decides it. */
@Controller()
export class KeyRegistryController {
  constructor(
    private readonly keys: KeyRegistryService,
    private readonly agents: AgentsService,
    private readonly devices: DeviceAuthorizationService,
    private readonly plans: OrgPlansService,
  ) {}

  @MessagePattern(RateLimitSubjects.changePlan)
  changePlan(@Payload() m: CommandMessage<ChangePlanRequest>) {
    return this.plans.changePlan(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.createOrg)
  createOrg(@Payload() m: CommandMessage<CreateOrgRequest>) {
    return this.keys.createOrg(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.createKey)
  createKey(@Payload() m: CommandMessage<CreateKeyRequest>) {
    return this.keys.createKey(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.createSelfServeKey)
  createSelfServeKey(@Payload() m: CommandMessage<{ name?: string | null; environment?: Environment }>) {
    return this.keys.createSelfServeKey(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.linkKey)
  linkKey(@Payload() m: CommandMessage<LinkKeyRequest>) {
    return this.keys.linkKey(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.updateKey)
  updateKey(@Payload() m: CommandMessage<UpdateKeyRequest>) {
    return this.keys.updateKey(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.revokeKey)
  revokeKey(@Payload() m: CommandMessage<KeyTargetRequest>) {
    return this.keys.revokeKey(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.rollKey)
  rollKey(@Payload() m: CommandMessage<RollKeyRequest>) {
    return this.keys.rollKey(m.data, m.meta);
  }

  @EventPattern(Subjects.keys.recordKeyUsage)
  recordKeyUsage(@Payload() m: CommandMessage<KeyUsageReport>) {
    return this.keys.recordKeyUsage(m.data);
  }

  @MessagePattern(Subjects.keys.createAgent)
  createAgent(@Payload() m: CommandMessage<CreateAgentRequest>) {
    return this.agents.createAgent(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.updateAgent)
  updateAgent(@Payload() m: CommandMessage<UpdateAgentRequest>) {
    return this.agents.updateAgent(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.pauseAgent)
  pauseAgent(@Payload() m: CommandMessage<PauseAgentRequest>) {
    return this.agents.pauseAgent(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.resumeAgent)
  resumeAgent(@Payload() m: CommandMessage<AgentTargetRequest>) {
    return this.agents.resumeAgent(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.revokeAgent)
  revokeAgent(@Payload() m: CommandMessage<AgentTargetRequest>) {
    return this.agents.revokeAgent(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.requestDevice)
  requestDevice(@Payload() m: CommandMessage<RequestDeviceRequest>) {
    return this.devices.request(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.approveDevice)
  approveDevice(@Payload() m: CommandMessage<DecideDeviceRequest>) {
    return this.devices.approve(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.denyDevice)
  denyDevice(@Payload() m: CommandMessage<DecideDeviceRequest>) {
    return this.devices.deny(m.data, m.meta);
  }

  @MessagePattern(Subjects.keys.redeemDevice)
  redeemDevice(@Payload() m: CommandMessage<{ device_code: string }>) {
    return this.devices.redeem(m.data, m.meta);
  }
}
