import { createHmac, randomUUID } from 'node:crypto';
import { KeyledgerError } from './errors';
import type {
  Agent,
  ApiKey,
  Balance,
  Budget,
  CreateSpendParams,
  SetBudgetParams,
  Spend,
  SpendStatus,
  Wallet,
  CreatedApiKey,
  CreateKeyParams,
  DeviceAuthorization,
  ListParams,
  Org,
  Page,
  PauseDuration,
  Plan,
  Scope,
  Whoami,
} from './types';

export interface KeyledgerOptions {
  /** The gateway, e.g. `https://keyledger.example.com` (no `/v1`). */
  baseUrl: string;
  /** An API key; sent as `X-Api-Key`. */
  apiKey?: string;
  /** For keys created with `signing: true`: every request is signed with it. */
  signingSecret?: string;
  /** For operator calls (`orgs.create`). */
  operatorToken?: string;
  /** Retries after 429 and 503 (default 3), waiting `Retry-After` or an exponential backoff. */
  maxRetries?: number;
  /** Longest single wait between retries, in ms (default 30 000). */
  maxRetryDelayMs?: number;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** Overrides the Idempotency-Key the client generates for every POST. */
  idempotencyKey?: string;
  query?: Record<string, string | number | undefined>;
  /** Authenticate with the operator token instead of the API key. */
  operator?: boolean;
}

const RETRYABLE = new Set([429, 503]);

/**
 * The Keyledger API client. Every POST carries an `Idempotency-Key` (one per call, reused by its
 * retries, so a retry never acts twice); 429 and 503 answers are retried after `Retry-After` with
 * exponential backoff and jitter; requests are signed when a signing secret is given.
 */
export class Keyledger {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: KeyledgerOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  whoami(): Promise<Whoami> {
    return this.request('GET', '/v1/whoami');
  }

  readonly orgs = {
    create: (body: { name: string; plan?: Plan }, params: { environment?: 'live' | 'test' } = {}, options: RequestOptions = {}) =>
      this.request<{ org: Org; api_key: CreatedApiKey }>('POST', '/v1/orgs', body, {
        ...options,
        operator: true,
        query: { environment: params.environment },
      }),
  };

  readonly apiKeys = {
    create: (body: CreateKeyParams = {}, options?: RequestOptions) => this.request<CreatedApiKey>('POST', '/v1/api-keys', body, options),
    list: (params: ListParams & { status?: ApiKey['status']; agent_id?: string } = {}) =>
      this.request<Page<ApiKey>>('GET', '/v1/api-keys', undefined, { query: { ...params } }),
    get: (id: string) => this.request<ApiKey>('GET', `/v1/api-keys/${encodeURIComponent(id)}`),
    update: (id: string, body: { name?: string | null; scopes?: Scope[]; expires_at?: string | null }) =>
      this.request<ApiKey>('PATCH', `/v1/api-keys/${encodeURIComponent(id)}`, body),
    revoke: (id: string, options?: RequestOptions) => this.request<ApiKey>('POST', `/v1/api-keys/${encodeURIComponent(id)}/revoke`, {}, options),
    roll: (id: string, body: { grace_period_seconds?: number } = {}, options?: RequestOptions) =>
      this.request<{ api_key: CreatedApiKey; previous: ApiKey }>('POST', `/v1/api-keys/${encodeURIComponent(id)}/roll`, body, options),
    link: (key: string, options?: RequestOptions) => this.request<ApiKey>('POST', '/v1/api-keys/link', { key }, options),
  };

  readonly agents = {
    create: (body: { name: string; metadata?: Record<string, unknown> }, options?: RequestOptions) =>
      this.request<Agent>('POST', '/v1/agents', body, options),
    list: (params: ListParams = {}) => this.request<Page<Agent>>('GET', '/v1/agents', undefined, { query: { ...params } }),
    get: (id: string) => this.request<Agent>('GET', `/v1/agents/${encodeURIComponent(id)}`),
    update: (id: string, body: { name?: string; metadata?: Record<string, unknown> }) =>
      this.request<Agent>('PATCH', `/v1/agents/${encodeURIComponent(id)}`, body),
    pause: (id: string, duration: PauseDuration, options?: RequestOptions) =>
      this.request<Agent>('POST', `/v1/agents/${encodeURIComponent(id)}/pause`, { duration }, options),
    resume: (id: string, options?: RequestOptions) => this.request<Agent>('POST', `/v1/agents/${encodeURIComponent(id)}/resume`, {}, options),
    revoke: (id: string, options?: RequestOptions) => this.request<Agent>('POST', `/v1/agents/${encodeURIComponent(id)}/revoke`, {}, options),
  };

  readonly device = {
    request: (body: { agent_name: string; scopes?: Scope[] }) => this.request<DeviceAuthorization>('POST', '/v1/auth/device', body),
    approve: (body: { user_code: string; agent_id?: string }) => this.request<{ agent: Agent }>('POST', '/v1/auth/device/approve', body),
    deny: (body: { user_code: string }) => this.request<unknown>('POST', '/v1/auth/device/deny', body),
    token: (deviceCode: string) => this.request<{ api_key: CreatedApiKey; agent: Agent }>('POST', '/v1/auth/device/token', { device_code: deviceCode }),
  };

  readonly wallet = {
    get: () => this.request<Wallet>('GET', '/v1/wallet'),
    deposit: (body: { amount: number; currency: string }, options?: RequestOptions) =>
      this.request<{ balance: Balance }>('POST', '/v1/wallet/deposits', body, options),
  };

  readonly budgets = {
    set: (agentId: string, body: SetBudgetParams) => this.request<Budget>('PUT', `/v1/agents/${encodeURIComponent(agentId)}/budget`, body),
    get: (agentId: string) => this.request<Budget>('GET', `/v1/agents/${encodeURIComponent(agentId)}/budget`),
    /** The calling agent's own budget (a key bound to an agent). */
    mine: () => this.request<Budget>('GET', '/v1/budget'),
  };

  readonly spends = {
    create: (body: CreateSpendParams, options?: RequestOptions) => this.request<Spend>('POST', '/v1/spends', body, options),
    list: (params: ListParams & { agent_id?: string; status?: SpendStatus } = {}) =>
      this.request<Page<Spend>>('GET', '/v1/spends', undefined, { query: { ...params } }),
    get: (id: string) => this.request<Spend>('GET', `/v1/spends/${encodeURIComponent(id)}`),
    capture: (id: string, body: { amount?: number } = {}, options?: RequestOptions) =>
      this.request<Spend>('POST', `/v1/spends/${encodeURIComponent(id)}/capture`, body, options),
    release: (id: string, options?: RequestOptions) => this.request<Spend>('POST', `/v1/spends/${encodeURIComponent(id)}/release`, {}, options),
    refund: (id: string, body: { amount?: number } = {}, options?: RequestOptions) =>
      this.request<Spend>('POST', `/v1/spends/${encodeURIComponent(id)}/refund`, body, options),
  };

  /** Any route: returns `data` of the envelope or throws a KeyledgerError with the API's code. */
  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const url = new URL(path, this.options.baseUrl);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const raw = body === undefined ? '' : JSON.stringify(body);
    const idempotencyKey = method === 'POST' ? (options.idempotencyKey ?? randomUUID()) : undefined;
    const maxRetries = this.options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetch(url, { method, headers: this.headers(raw, options, idempotencyKey), body: body === undefined ? undefined : raw });
      const text = await response.text();
      const envelope = parse(text);
      if (response.ok && envelope?.success) return envelope.data as T;
      const error = new KeyledgerError(
        response.status,
        envelope?.error?.code ?? 'INTERNAL_ERROR',
        envelope?.error?.message ?? (text.slice(0, 200) || response.statusText),
        envelope?.error?.details ?? {},
        envelope?.request_id ?? response.headers.get('x-request-id'),
      );
      if (!RETRYABLE.has(response.status) || attempt >= maxRetries) throw error;
      await sleep(this.retryDelay(attempt, response.headers.get('retry-after')));
    }
  }

  /** `Retry-After` when the server says, never less than exponential backoff with full jitter. */
  retryDelay(attempt: number, retryAfter: string | null): number {
    const cap = this.options.maxRetryDelayMs ?? 30_000;
    const backoff = Math.random() * Math.min(cap, 250 * 2 ** attempt);
    const told = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    return Math.min(cap, Math.max(told, backoff));
  }

  private headers(raw: string, options: RequestOptions, idempotencyKey: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (raw !== '') headers['content-type'] = 'application/json';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    if (options.operator) {
      if (!this.options.operatorToken) throw new TypeError('this call needs the operatorToken option');
      headers['authorization'] = `Bearer ${this.options.operatorToken}`;
    } else if (this.options.apiKey) {
      headers['x-api-key'] = this.options.apiKey;
    }
    if (this.options.signingSecret && !options.operator) {
      // Signed per attempt: a retry gets a fresh timestamp.
      const timestamp = String(Math.floor(Date.now() / 1000));
      headers['x-timestamp'] = timestamp;
      headers['x-signature'] = createHmac('sha256', this.options.signingSecret).update(`${timestamp}.${raw}`).digest('hex');
    }
    return headers;
  }
}

function parse(text: string): { success?: boolean; data?: unknown; error?: { code: string; message: string; details?: Record<string, unknown> }; request_id?: string } | null {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
