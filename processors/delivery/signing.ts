import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of a signed webhook request. */
export const SIGNATURE_HEADER = 'x-stacklens-signature';
export const TIMESTAMP_HEADER = 'x-stacklens-timestamp';

/**
 * The signature header's value: `v1=` and the hex HMAC-SHA256, keyed by the receiver's secret, of
 * `<timestamp>.<body>` (the timestamp header's value, a dot, the exact body bytes). Signing the timestamp
 * with the body is what lets a receiver refuse a captured request replayed later (Stripe's scheme);
 * `v1` leaves room for another scheme next to it.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver runs: the signature is the one `secret` gives for this body and timestamp (compared in
 * constant time), and the timestamp lies within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyWebhook(
  secret: string,
  request: { timestamp: string; body: string; signature: string },
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const sent = Number(request.timestamp);
  if (!/^\d{1,12}$/.test(request.timestamp) || Math.abs(nowSeconds - sent) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, request.timestamp, request.body));
  const actual = Buffer.from(request.signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
