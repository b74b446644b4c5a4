import { createHmac } from 'node:crypto';
import type { Stack } from '@keyledger/testing';
import { http, HttpResult } from './http';

/** A caller of the public API: a base URL and the headers it authenticates with. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly headers: Record<string, string> = {},
  ) {}

  withKey(key: string): ApiClient {
    return new ApiClient(this.baseUrl, { 'x-api-key': key });
  }

  at(baseUrl: string): ApiClient {
    return new ApiClient(baseUrl, this.headers);
  }

  get<T = any>(path: string, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    return http<T>(this.baseUrl, 'GET', path, { headers: { ...this.headers, ...headers } });
  }

  post<T = any>(path: string, json?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    return http<T>(this.baseUrl, 'POST', path, { headers: { ...this.headers, ...headers }, json: json ?? {} });
  }

  patch<T = any>(path: string, json: unknown): Promise<HttpResult<T>> {
    return http<T>(this.baseUrl, 'PATCH', path, { headers: this.headers, json });
  }

  put<T = any>(path: string, json: unknown): Promise<HttpResult<T>> {
    return http<T>(this.baseUrl, 'PUT', path, { headers: this.headers, json });
  }

  delete<T = any>(path: string): Promise<HttpResult<T>> {
    return http<T>(this.baseUrl, 'DELETE', path, { headers: this.headers });
  }
}

export interface TestOrg {
  id: string;
  key: string;
  keyId: string;
  api: ApiClient;
}

/** Rate limits high enough that suites about other things never meet them (set per org, as an operator would). */
export const GENEROUS_LIMITS = {
  read: { per_minute: 1_000_000, burst: 100_000 },
  write: { per_minute: 1_000_000, burst: 100_000 },
  key_create: { per_minute: 1_000_000, burst: 100_000 },
  per_hour: null,
};

/** The operator's client on one gateway. */
export function operatorClient(stack: Stack, gateway = 0): ApiClient {
  return new ApiClient(stack.gatewayUrl(gateway), { authorization: `Bearer ${stack.operatorToken}` });
}

/**
 * A fresh org through the operator API; its first key has every scope. Unless `rateLimits: 'plan'`,
 * the org gets GENEROUS_LIMITS as plan overrides, so only the rate-limit suite meets real limits.
 */
export async function createOrg(
  stack: Stack,
  name: string,
  options: { environment?: 'live' | 'test'; plan?: string; gateway?: number; rateLimits?: 'generous' | 'plan' } = {},
): Promise<TestOrg> {
  const operator = operatorClient(stack, options.gateway ?? 0);
  const res = await operator.post(`/v1/orgs${options.environment ? `?environment=${options.environment}` : ''}`, {
    name,
    ...(options.plan ? { plan: options.plan } : {}),
  });
  if (res.status !== 201) throw new Error(`org creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  if (options.rateLimits !== 'plan') {
    const plan = await operator.put(`/v1/orgs/${res.body.data.org.id}/plan`, { plan: options.plan ?? null, overrides: GENEROUS_LIMITS });
    if (plan.status !== 200) throw new Error(`plan change failed: ${plan.status} ${JSON.stringify(plan.body)}`);
  }
  const key: string = res.body.data.api_key.key;
  return { id: res.body.data.org.id, key, keyId: res.body.data.api_key.id, api: new ApiClient(stack.gatewayUrl(options.gateway ?? 0), { 'x-api-key': key }) };
}

/** Headers of a signed request, as a client holding the signing secret computes them. */
export function signedHeaders(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'x-timestamp': String(timestamp), 'x-signature': signature };
}

export function expectError(res: HttpResult, status: number, code: string): void {
  // The body rides along so a failure shows what the gateway actually said.
  expect({ status: res.status, code: res.body?.error?.code, body: res.body }).toMatchObject({ status, code });
}
