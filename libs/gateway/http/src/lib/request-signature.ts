import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SIGNATURE_SKEW_SECONDS = 300;
export type SignatureProblem = 'missing' | 'stale' | 'mismatch';

/** `hex(HMAC-SHA256(secret, "<timestamp>.<raw body>"))`, as API.md defines it. */
export function signRequest(secret: string, timestamp: string, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex');
}

/** Null when the signature is good; otherwise why not. The comparison is constant-time. */
export function checkSignature(
  secret: string,
  headers: { timestamp?: string; signature?: string },
  rawBody: string,
  nowSeconds: number,
): SignatureProblem | null {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > MAX_SIGNATURE_SKEW_SECONDS) return 'stale';
  const expected = Buffer.from(signRequest(secret, timestamp, rawBody), 'hex');
  const given = /^[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected) ? null : 'mismatch';
}
