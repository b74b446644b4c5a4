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

/** A fresh org through the operator API; its first key has every scope. */
export async function createOrg(stack: Stack, name: string, options: { environment?: 'live' | 'test'; plan?: string; gateway?: number } = {}): Promise<TestOrg> {
  const operator = new ApiClient(stack.gatewayUrl(options.gateway ?? 0), { authorization: `Bearer ${stack.operatorToken}` });
  const res = await operator.post(`/v1/orgs${options.environment ? `?environment=${options.environment}` : ''}`, {
    name,
    ...(options.plan ? { plan: options.plan } : {}),
  });
  if (res.status !== 201) throw new Error(`org creation failed: ${res.status} ${JSON.stringify(res.body)}`);
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
