import {
  AgentSchema,
  ApiKeySchema,
  ApproveDeviceReplySchema,
  buildOpenApiDocument,
  CreatedApiKeySchema,
  CreateOrgReplySchema,
  DenyDeviceReplySchema,
  DeviceAuthorizationSchema,
  AttestationSchema,
  AuditEventSchema,
  AuditPublicKeySchema,
  AuditVerifySchema,
  BudgetSchema,
  DepositReplySchema,
  HealthSchema,
  SpendSchema,
  WalletSchema,
  OrgWithOverridesSchema,
  pageOf,
  ReadySchema,
  RedeemDeviceReplySchema,
  RollKeyReplySchema,
  RouteDoc,
  WhoamiSchema,
} from '@keyledger/gateway-http';
import { CreateAgentBody, ListAgentsQuery, PauseAgentBody, UpdateAgentBody } from './agents.controller';
import { CreateKeyBody, LinkKeyBody, ListKeysQuery, RollKeyBody, UpdateKeyBody } from './api-keys.controller';
import { DeviceApproveBody, DeviceDenyBody, DeviceRequestBody, DeviceTokenBody } from './device.controller';
import { CreateAttestationBody, ListAttestationsQuery } from './attestations.controller';
import { EventsQuery, ExportQuery } from './audit.controller';
import { BudgetBody } from './budgets.controller';
import { ChangePlanBody, CreateOrgBody, CreateOrgQuery } from './orgs.controller';
import { AmountBody, ListSpendsQuery, NoBody, SpendBody } from './spends.controller';
import { DepositBody } from './wallet.controller';

/**
 * Every route of the gateway, with the schemas its controller validates with. A test checks this
 * table against the routes Nest actually serves, so neither can drift from the other.
 */
export const ROUTES: RouteDoc[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', tag: 'operations', auth: 'none', success: { status: 200, data: HealthSchema } },
  { method: 'get', path: '/readyz', summary: 'Readiness of Postgres, NATS and every service', tag: 'operations', auth: 'none', success: { status: 200, data: ReadySchema }, errors: ['SERVICE_UNAVAILABLE'] },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tag: 'operations', auth: 'none', success: { status: 200, raw: { contentType: 'text/plain', description: 'Prometheus text format' } } },
  { method: 'get', path: '/openapi.json', summary: 'This document', tag: 'operations', auth: 'none', success: { status: 200, raw: { contentType: 'application/json', description: 'OpenAPI 3.1' } } },
  { method: 'get', path: '/docs', summary: 'Interactive API documentation', tag: 'operations', auth: 'none', success: { status: 200, raw: { contentType: 'text/html', description: 'HTML page' } } },
  { method: 'get', path: '/docs/assets/{file}', summary: 'Files of the documentation page', tag: 'operations', auth: 'none', success: { status: 200, raw: { contentType: 'application/octet-stream', description: 'CSS or JavaScript' } } },

  { method: 'post', path: '/v1/orgs', summary: 'Create an organization and its first key', tag: 'organizations', auth: 'operator', body: CreateOrgBody, query: CreateOrgQuery, success: { status: 201, data: CreateOrgReplySchema } },
  { method: 'put', path: '/v1/orgs/{org_id}/plan', summary: 'Change an organization’s plan and rate-limit overrides', tag: 'organizations', auth: 'operator', body: ChangePlanBody, success: { status: 200, data: OrgWithOverridesSchema } },
  { method: 'get', path: '/v1/whoami', summary: 'The calling key, its org and agent', tag: 'api keys', auth: 'key', success: { status: 200, data: WhoamiSchema } },

  { method: 'post', path: '/v1/api-keys', summary: 'Create a key (without a credential: a self-serve unclaimed key)', tag: 'api keys', auth: 'key-or-none', scope: 'keys:write', body: CreateKeyBody, success: { status: 201, data: CreatedApiKeySchema }, errors: ['CONFLICT', 'PLAN_LIMIT_REACHED', 'NOT_FOUND', 'AGENT_REVOKED'] },
  { method: 'post', path: '/v1/api-keys/link', summary: 'Move an unclaimed key into the caller’s organization', tag: 'api keys', auth: 'key', scope: 'keys:write', body: LinkKeyBody, success: { status: 200, data: ApiKeySchema }, errors: ['NOT_FOUND', 'PLAN_LIMIT_REACHED'] },
  { method: 'get', path: '/v1/api-keys', summary: 'List keys', tag: 'api keys', auth: 'key', scope: 'keys:read', query: ListKeysQuery, success: { status: 200, data: pageOf(ApiKeySchema) } },
  { method: 'get', path: '/v1/api-keys/{id}', summary: 'Get a key', tag: 'api keys', auth: 'key', scope: 'keys:read', success: { status: 200, data: ApiKeySchema } },
  { method: 'patch', path: '/v1/api-keys/{id}', summary: 'Change a key’s name, scopes or expiry', tag: 'api keys', auth: 'key', scope: 'keys:write', body: UpdateKeyBody, success: { status: 200, data: ApiKeySchema }, errors: ['CONFLICT'] },
  { method: 'delete', path: '/v1/api-keys/{id}', summary: 'Revoke a key', tag: 'api keys', auth: 'key', scope: 'keys:write', success: { status: 200, data: ApiKeySchema } },
  { method: 'post', path: '/v1/api-keys/{id}/revoke', summary: 'Revoke a key', tag: 'api keys', auth: 'key', scope: 'keys:write', success: { status: 200, data: ApiKeySchema } },
  { method: 'post', path: '/v1/api-keys/{id}/roll', summary: 'Roll a key: a new one, the old one expiring after a grace period', tag: 'api keys', auth: 'key', scope: 'keys:write', body: RollKeyBody, success: { status: 201, data: RollKeyReplySchema }, errors: ['CONFLICT'] },

  { method: 'post', path: '/v1/agents', summary: 'Create an agent', tag: 'agents', auth: 'key', scope: 'agents:write', body: CreateAgentBody, success: { status: 201, data: AgentSchema } },
  { method: 'get', path: '/v1/agents', summary: 'List agents', tag: 'agents', auth: 'key', scope: 'agents:read', query: ListAgentsQuery, success: { status: 200, data: pageOf(AgentSchema) } },
  { method: 'get', path: '/v1/agents/{id}', summary: 'Get an agent', tag: 'agents', auth: 'key', scope: 'agents:read', success: { status: 200, data: AgentSchema } },
  { method: 'patch', path: '/v1/agents/{id}', summary: 'Change an agent’s name or metadata', tag: 'agents', auth: 'key', scope: 'agents:write', body: UpdateAgentBody, success: { status: 200, data: AgentSchema }, errors: ['AGENT_REVOKED'] },
  { method: 'post', path: '/v1/agents/{id}/pause', summary: 'Pause an agent for a while or indefinitely', tag: 'agents', auth: 'key', scope: 'agents:write', body: PauseAgentBody, success: { status: 200, data: AgentSchema }, errors: ['AGENT_REVOKED'] },
  { method: 'post', path: '/v1/agents/{id}/resume', summary: 'Resume a paused agent', tag: 'agents', auth: 'key', scope: 'agents:write', success: { status: 200, data: AgentSchema }, errors: ['AGENT_REVOKED'] },
  { method: 'post', path: '/v1/agents/{id}/revoke', summary: 'Revoke an agent and its keys', tag: 'agents', auth: 'key', scope: 'agents:write', success: { status: 200, data: AgentSchema } },

  { method: 'post', path: '/v1/auth/device', summary: 'Start a device authorization (RFC 8628)', tag: 'device authorization', auth: 'none', body: DeviceRequestBody, success: { status: 200, data: DeviceAuthorizationSchema } },
  { method: 'post', path: '/v1/auth/device/approve', summary: 'Approve a user code', tag: 'device authorization', auth: 'key', scope: 'agents:write', body: DeviceApproveBody, success: { status: 200, data: ApproveDeviceReplySchema }, errors: ['NOT_FOUND', 'AGENT_REVOKED'] },
  { method: 'post', path: '/v1/auth/device/deny', summary: 'Deny a user code', tag: 'device authorization', auth: 'key', scope: 'agents:write', body: DeviceDenyBody, success: { status: 200, data: DenyDeviceReplySchema }, errors: ['NOT_FOUND'] },
  { method: 'post', path: '/v1/auth/device/token', summary: 'Poll for the key of an approved device code', tag: 'device authorization', auth: 'none', body: DeviceTokenBody, success: { status: 200, data: RedeemDeviceReplySchema }, errors: ['AUTHORIZATION_PENDING', 'SLOW_DOWN', 'ACCESS_DENIED', 'EXPIRED_TOKEN'] },

  { method: 'get', path: '/v1/wallet', summary: 'Balances of the key’s environment', tag: 'wallet and budgets', auth: 'key', scope: 'wallet:read', success: { status: 200, data: WalletSchema } },
  { method: 'post', path: '/v1/wallet/deposits', summary: 'Deposit into the wallet', tag: 'wallet and budgets', auth: 'key', scope: 'wallet:write', body: DepositBody, success: { status: 201, data: DepositReplySchema } },
  { method: 'put', path: '/v1/agents/{id}/budget', summary: 'Set an agent’s budget', tag: 'wallet and budgets', auth: 'key', scope: 'agents:write', body: BudgetBody, success: { status: 200, data: BudgetSchema }, errors: ['AGENT_REVOKED'] },
  { method: 'get', path: '/v1/agents/{id}/budget', summary: 'An agent’s budget: every component and which one limits', tag: 'wallet and budgets', auth: 'key', scope: 'agents:read', success: { status: 200, data: BudgetSchema } },
  { method: 'get', path: '/v1/budget', summary: 'The calling agent’s own budget', tag: 'wallet and budgets', auth: 'key', success: { status: 200, data: BudgetSchema } },

  { method: 'post', path: '/v1/spends', summary: 'Spend now (capture) or place a hold', tag: 'spends', auth: 'key', scope: 'spend:write', body: SpendBody, success: { status: 201, data: SpendSchema }, errors: ['BUDGET_EXCEEDED', 'INSUFFICIENT_FUNDS', 'AGENT_REVOKED', 'ATTESTATION_REQUIRED', 'NOT_FOUND', 'CONFLICT', 'IDEMPOTENCY_KEY_REUSED'] },
  { method: 'get', path: '/v1/spends', summary: 'Spend history', tag: 'spends', auth: 'key', scope: 'spend:read', query: ListSpendsQuery, success: { status: 200, data: pageOf(SpendSchema) } },
  { method: 'get', path: '/v1/spends/{id}', summary: 'Get a spend', tag: 'spends', auth: 'key', scope: 'spend:read', success: { status: 200, data: SpendSchema } },
  { method: 'post', path: '/v1/spends/{id}/capture', summary: 'Capture a hold, fully or partly (the rest is released)', tag: 'spends', auth: 'key', scope: 'spend:write', body: AmountBody, success: { status: 200, data: SpendSchema }, errors: ['CONFLICT'] },
  { method: 'post', path: '/v1/spends/{id}/release', summary: 'Release a hold', tag: 'spends', auth: 'key', scope: 'spend:write', body: NoBody, success: { status: 200, data: SpendSchema }, errors: ['CONFLICT'] },
  { method: 'post', path: '/v1/spends/{id}/refund', summary: 'Refund a captured spend, fully or partly', tag: 'spends', auth: 'key', scope: 'spend:write', body: AmountBody, success: { status: 200, data: SpendSchema }, errors: ['CONFLICT'] },

  { method: 'post', path: '/v1/attestations', summary: 'Record what an agent claims: before spending, or about a spend already made (spend_id: mismatches recorded)', tag: 'attestations and audit', auth: 'key', scope: 'spend:write', body: CreateAttestationBody, success: { status: 201, data: AttestationSchema }, errors: ['NOT_FOUND'] },
  { method: 'get', path: '/v1/attestations', summary: 'List attestations', tag: 'attestations and audit', auth: 'key', scope: 'audit:read', query: ListAttestationsQuery, success: { status: 200, data: pageOf(AttestationSchema) } },
  { method: 'get', path: '/v1/audit/public-key', summary: 'The Ed25519 key audit checkpoints are signed with (to pin)', tag: 'attestations and audit', auth: 'none', success: { status: 200, data: AuditPublicKeySchema } },
  { method: 'get', path: '/v1/audit/events', summary: 'The caller’s org and environment’s events, in log order', tag: 'attestations and audit', auth: 'key', scope: 'audit:read', query: EventsQuery, success: { status: 200, data: pageOf(AuditEventSchema) } },
  { method: 'get', path: '/v1/audit/verify', summary: 'Recompute the hash chain after the newest checkpoint verified before, and check every checkpoint signed since', tag: 'attestations and audit', auth: 'key', scope: 'audit:read', success: { status: 200, data: AuditVerifySchema } },
  { method: 'get', path: '/v1/audit/export', summary: 'Every event of the caller’s org and environment as NDJSON, streamed', tag: 'attestations and audit', auth: 'key', scope: 'audit:read', query: ExportQuery, success: { status: 200, raw: { contentType: 'application/x-ndjson', description: 'one event per line' } } },
];

export const OPENAPI_DOCUMENT = buildOpenApiDocument(ROUTES, {
  title: 'Keyledger API',
  version: '1.0.0',
  description: 'API keys, rate limits and agent spending, with an auditable event log. Every answer is in the envelope `{success, data | error, request_id}`.',
});
