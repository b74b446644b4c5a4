import { z } from 'zod';

/** Every setting any Keyledger process reads, with its default. The README's configuration table mirrors this. */
const settings = {
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/keyledger'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYLEDGER_OPERATOR_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  KEYLEDGER_KEY_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{1,9}$/, 'must be 2–10 lowercase letters or digits, starting with a letter')
    .default('kl'),
  KEYLEDGER_SECRETS_KEY: z
    .string()
    .regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9_-]{43}=?)$/, 'must be 32 bytes: 64 hex characters or base64url')
    .optional(),
  KEYLEDGER_SELF_SERVE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  KEYLEDGER_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  KEYLEDGER_PUBLIC_URL: z.string().url().optional(),
  /** The dashboard's built files (dist/apps/dashboard); unset = next to the gateway's own build output. */
  KEYLEDGER_DASHBOARD_DIR: z.string().min(1).optional(),
  KEYLEDGER_RPC_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1500),
  KEYLEDGER_BREAKER_RESET_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  KEYLEDGER_MIGRATE_ON_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  KEYLEDGER_PROCESSOR_POLL_MS: z.coerce.number().int().min(5).max(60_000).default(50),
  KEYLEDGER_PG_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  /** Port of a backend service's own Prometheus endpoint (`GET /metrics` on HOST); unset: none, 0: any free port. */
  KEYLEDGER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** How long a claimed Idempotency-Key stays in progress before another request may take it over (its gateway may have died). */
  KEYLEDGER_IDEMPOTENCY_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** When the rate limiter cannot be reached, per class: `open` admits unlimited, `closed` answers 503. Money and keys fail closed. */
  KEYLEDGER_RATE_LIMIT_FAIL_MODE: z
    .string()
    .default('read=open,write=closed,key_create=closed')
    .transform((value, ctx) => {
      const modes: Record<'read' | 'write' | 'key_create', 'open' | 'closed'> = { read: 'open', write: 'closed', key_create: 'closed' };
      for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
        const [name, mode] = part.split('=').map((p) => p.trim());
        if (!(name in modes) || (mode !== 'open' && mode !== 'closed')) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not <read|write|key_create>=<open|closed>` });
          return z.NEVER;
        }
        modes[name as keyof typeof modes] = mode;
      }
      return modes;
    }),
  /** Limits per client IP on unauthenticated routes (self-serve keys, device authorization): `<class>=<per_minute>:<burst>,…`. */
  KEYLEDGER_RATE_LIMIT_PER_IP: z
    .string()
    .default('write=60:30,key_create=30:15')
    .transform((value, ctx) => {
      const limits: Record<'write' | 'key_create', { per_minute: number; burst: number }> = {
        write: { per_minute: 60, burst: 30 },
        key_create: { per_minute: 30, burst: 15 },
      };
      for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
        const match = /^(write|key_create)=(\d+):(\d+)$/.exec(part);
        if (!match || Number(match[2]) < 1 || Number(match[3]) < 1) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not <write|key_create>=<per_minute>:<burst> (positive integers)` });
          return z.NEVER;
        }
        limits[match[1] as keyof typeof limits] = { per_minute: Number(match[2]), burst: Number(match[3]) };
      }
      return limits;
    }),
  /** Ed25519 key that signs audit checkpoints: a PKCS8 PEM, or a 32-byte seed as 64 hex characters or base64. */
  KEYLEDGER_AUDIT_SIGNING_KEY: z.string().min(1).optional(),
  KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS: z.coerce.number().min(0.1).max(86_400).default(60),
  /**
   * The audit chainer's poll interval, also how long it waits after a partial batch, so that a steady
   * stream of appends is chained in fewer, larger transactions; the chain lags by about this much.
   */
  KEYLEDGER_AUDIT_CHAIN_POLL_MS: z.coerce.number().int().min(5).max(60_000).default(200),
} as const;

export type SettingName = keyof typeof settings;
type Shape<K extends SettingName> = { [P in K]: (typeof settings)[P] };
export type Config<K extends SettingName> = z.infer<z.ZodObject<Shape<K>>>;

export class ConfigError extends Error {}

/**
 * Reads and validates the named settings once, at start-up. A bad value stops the process with a
 * message naming the variable, not a stack trace from deep inside.
 */
export function readConfig<K extends SettingName>(
  names: readonly K[],
  env: Record<string, string | undefined> = process.env,
): Config<K> {
  const shape = Object.fromEntries(names.map((n) => [n, settings[n]])) as Shape<K>;
  const values = Object.fromEntries(names.map((n) => [n, env[n] === '' ? undefined : env[n]]));
  const parsed = z.object(shape).safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data as Config<K>;
}
