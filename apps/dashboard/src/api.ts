/** The dashboard's only way to the server: the public API of API.md, with the signed-in org key. */

const SESSION_KEY = 'keyledger.api_key';
export const SIGNED_OUT_EVENT = 'keyledger:signed-out';

export interface ApiList<T> {
  items: T[];
  next_cursor: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}

export const session = {
  key(): string | null {
    return sessionStorage.getItem(SESSION_KEY);
  },
  signIn(key: string): void {
    sessionStorage.setItem(SESSION_KEY, key);
  },
  signOut(): void {
    sessionStorage.removeItem(SESSION_KEY);
  },
};

type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Calls the API and unwraps the envelope; any failure is an ApiError a person can read. */
export async function api<T>(method: string, path: string, body?: unknown, key = session.key()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers['x-api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'The gateway could not be reached. Check your connection and try again.');
  }
  const requestId = response.headers.get('x-request-id');
  let envelope: { success?: boolean; data?: T; error?: { code: string; message: string; details?: Record<string, unknown> } };
  try {
    envelope = await response.json();
  } catch {
    throw new ApiError(response.status, 'INTERNAL_ERROR', `The gateway answered ${response.status} without a readable body.`, {}, requestId);
  }
  if (!response.ok || !envelope.success) {
    const error = envelope.error ?? { code: 'INTERNAL_ERROR', message: `HTTP ${response.status}` };
    const failure = new ApiError(response.status, error.code, error.message, error.details ?? {}, requestId);
    // The signed-in key stopped working (revoked, expired): back to the sign-in screen, saying why.
    if (response.status === 401 && key !== null && key === session.key()) {
      session.signOut();
      dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT, { detail: failure }));
    }
    throw failure;
  }
  return envelope.data as T;
}

const EXPLANATIONS: Record<string, string> = {
  UNAUTHORIZED: 'This key is not valid. Check that you pasted the whole key.',
  KEY_EXPIRED: 'This key has expired.',
  KEY_REVOKED: 'This key has been revoked.',
  SIGNATURE_INVALID: 'This key requires signed requests, which the dashboard cannot make. Sign in with a key created without signing.',
  PERMISSION_DENIED: 'Your key is not allowed to do this.',
  AGENT_PAUSED: 'The agent is paused.',
  AGENT_REVOKED: 'The agent has been revoked.',
  PLAN_LIMIT_REACHED: 'Your plan does not allow more of these.',
  NOT_FOUND: 'Not found.',
  VALIDATION_ERROR: 'Some of the values are not valid.',
  CONFLICT: 'This conflicts with what already exists.',
  BUDGET_EXCEEDED: 'The budget does not allow this spend.',
  INSUFFICIENT_FUNDS: 'The wallet does not hold enough funds.',
  RATE_LIMITED: 'Too many requests.',
  SERVICE_UNAVAILABLE: 'A Keyledger service is unavailable right now.',
  INTERNAL_ERROR: 'Something went wrong on the server.',
};

/** A sentence for a person: what went wrong in general, then the server's own words. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  if (error.code === 'NETWORK_ERROR') return error.message;
  const general = EXPLANATIONS[error.code] ?? 'The request failed.';
  const parts = [general];
  if (error.message && error.message !== general) parts.push(capitalize(error.message.replace(/\.$/, '')) + '.');
  const scope = error.details['required_scope'];
  if (typeof scope === 'string') parts.push(`It needs the scope ${scope}.`);
  const retry = error.details['retry_after'];
  if (typeof retry === 'number') parts.push(`Try again in ${retry} s.`);
  return parts.join(' ');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
