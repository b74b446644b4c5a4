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

export const OrgWithOverridesSchema = OrgSchema.extend({ overrides: z.record(z.string(), z.unknown()).nullable() });
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

// Wallets, budgets and spends (budget-ledger).
const money = z.number().int();
const limitingFactor = z.enum(['fixed_limit', 'budget_percent', 'max_position_value', 'per_transaction', 'daily', 'weekly', 'monthly', 'all_time', 'wallet', 'no_budget']);
export const BalanceSchema = z.object({ currency: z.string(), available: money, held: money });
export const WalletSchema = z.object({ balances: z.array(BalanceSchema) });
export const DepositReplySchema = z.object({ balance: BalanceSchema });
export const BudgetSchema = z.object({
  agent_id: z.string(),
  currency: z.string().nullable(),
  remaining: money,
  limiting_factor: limitingFactor.nullable(),
  components: z.record(z.string(), z.object({ limit: money, used: money, remaining: money })),
  spent: money,
  held: money,
  wallet_available: money,
  policy: z
    .object({
      agent_id: z.string(),
      currency: z.string(),
      fixed_limit: money.nullable(),
      budget_percent: z.number().nullable(),
      max_position_value: money.nullable(),
      limits: z.array(z.object({ interval: z.string(), amount: money })),
      require_attestation: z.boolean(),
      updated_at: isoTime,
    })
    .nullable(),
});
export const SpendSchema = z.object({
  id: z.string(),
  agent_id: z.string(),
  amount: money,
  captured_amount: money,
  refunded_amount: money,
  currency: z.string(),
  status: z.enum(['authorized', 'captured', 'released', 'refunded', 'expired']),
  merchant: z.string().nullable(),
  description: z.string().nullable(),
  attestation_id: z.string().nullable(),
  attestation: z
    .object({ purpose: z.string(), expected_amount: money.optional(), merchant: z.string().optional(), claims: z.record(z.string(), z.unknown()).optional() })
    .nullable(),
  created_at: isoTime,
  expires_at: isoTime.nullable(),
});

// Attestations and audit (audit-attestation).
export const AttestationSchema = z.object({
  id: z.string(),
  agent_id: z.string(),
  spend_id: z.string().nullable(),
  statement: z.record(z.string(), z.unknown()),
  mismatches: z.array(z.object({ field: z.string(), claimed: z.unknown(), actual: z.unknown() })),
  hash: z.string().nullable(),
  position: z.number().int(),
  created_at: isoTime,
});
export const AuditEventSchema = z.object({
  position: z.number().int(),
  stream: z.string(),
  stream_version: z.number().int(),
  type: z.string(),
  data: z.unknown(),
  metadata: z.unknown(),
  recorded_at: isoTime,
  hash: z.string().nullable(),
  prev_hash: z.string().nullable(),
});
export const AuditCheckpointSchema = z.object({ position: z.number().int(), root: z.string(), signature: z.string(), public_key: z.string(), signed_at: isoTime });
export const AuditVerifySchema = z.union([
  z.object({
    ok: z.literal(true),
    events_verified: z.number().int(),
    events_pending: z.number().int().describe('events not chained yet'),
    head: z.object({ position: z.number().int(), hash: z.string() }).nullable(),
    checkpoint: AuditCheckpointSchema.nullable(),
  }),
  z.object({
    ok: z.literal(false),
    first_bad_position: z.number().int(),
    reason: z.enum(['altered', 'removed', 'inserted', 'reordered', 'bad_signature']),
    detail: z.string(),
    events_verified: z.number().int(),
  }),
]);
export const AuditPublicKeySchema = z.object({ algorithm: z.literal('Ed25519'), public_key: z.string(), public_key_pem: z.string() });
