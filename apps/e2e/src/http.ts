import { checkAgainstSpec } from './openapi-validator';

/** A tiny HTTP client for black-box tests: what a client sees, status, headers and JSON body. */
export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

export async function http<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; json?: unknown; body?: string } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const started = performance.now();
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  const ms = performance.now() - started;
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: keep the text so the assertion shows it */
  }
  // Every answer must match the OpenAPI document the gateway publishes.
  const mismatch = await checkAgainstSpec(`${baseUrl}${path}`, method, response.status, response.headers.get('content-type'), parsed);
  if (mismatch !== null) throw new Error(`response does not match the OpenAPI document: ${mismatch}`);
  return { status: response.status, headers: response.headers, body: parsed as T, ms };
}
