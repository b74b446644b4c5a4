import { z } from 'zod';
import { ENVIRONMENTS, ERROR_STATUS, PLANS, SCOPES } from '@keyledger/contracts';

/** Response shapes of the public API, for the OpenAPI document (requests are the controllers' own schemas). */
const isoTime = z.iso.datetime({ offset: true });
const environment = z.enum(ENVIRONMENTS);

export const OrgSchema = z.object({ id: z.string(), name: z.string(), plan: z.enum(PLANS).nullable() });

export const ApiKeySchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  key_prefix: z.string(),
  last4: z.string(),
  environment,
  scopes: z.array(z.enum(SCOPES)),
  agent_id: z.string().nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
  claimed: z.boolean(),
  signing: z.boolean(),
  created_at: isoTime,
  expires_at: isoTime.nullable(),
  last_used_at: isoTime.nullable(),
});

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().describe('the plaintext key: shown in this response only'),
  signing_secret: z.string().optional().describe('for signing keys: shown in this response only'),
});

export const AgentSchema = z.object({
  id: z.string(),
  name: z.string(),
  environment,
  status: z.enum(['active', 'paused', 'revoked']),
  paused_until: isoTime.nullable(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: isoTime,
});

export const WhoamiSchema = z.object({
  api_key: ApiKeySchema,
  org: OrgSchema,
  agent: AgentSchema.nullable(),
  scopes: z.array(z.enum(SCOPES)),
  environment,
  rate_limits: z.record(z.string(), z.unknown()),
});

export const DeviceAuthorizationSchema = z.object({
  device_code: z.string(),
  user_code: z.string().regex(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
  verification_uri: z.string(),
  verification_uri_complete: z.string(),
  expires_in: z.number().int(),
  interval: z.number().int(),
});

export const CreateOrgReplySchema = z.object({ org: OrgSchema, api_key: CreatedApiKeySchema });
export const RollKeyReplySchema = z.object({ api_key: CreatedApiKeySchema, previous: ApiKeySchema });
export const RedeemDeviceReplySchema = z.object({ api_key: CreatedApiKeySchema, agent: AgentSchema });
export const ApproveDeviceReplySchema = z.object({ agent: AgentSchema });
export const DenyDeviceReplySchema = z.object({ denied: z.literal(true) });
export const HealthSchema = z.object({ status: z.literal('ok') });
export const ReadySchema = z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.object({ ok: z.boolean() }).loose()) });

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

export const ErrorEnvelopeSchema = z.object({
  success: z.literal(false),
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
  request_id: z.string().regex(/^req_/),
});
