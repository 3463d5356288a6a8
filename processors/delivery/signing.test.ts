import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhook } from './signing';

describe('webhook signing', () => {
  const body = '{"delivery_id":"a","alert":{"message":"é"}}';

  it('is the hex HMAC-SHA256 of "<timestamp>.<body>" under the secret, as a receiver recomputes it', () => {
    const expected = createHmac('sha256', 'k').update(`1700000000.${body}`).digest('hex');
    expect(signWebhook('k', '1700000000', body)).toBe(`v1=${expected}`);
  });

  it('verifies its own signature within the tolerance', () => {
    const signature = signWebhook('k', '1700000000', body);
    expect(verifyWebhook('k', { timestamp: '1700000000', body, signature }, 1_700_000_100)).toBe(true);
  });

  it('refuses another secret, a changed body, a moved timestamp and an old request', () => {
    const signature = signWebhook('k', '1700000000', body);
    expect(verifyWebhook('other', { timestamp: '1700000000', body, signature }, 1_700_000_000)).toBe(false);
    expect(verifyWebhook('k', { timestamp: '1700000000', body: `${body} `, signature }, 1_700_000_000)).toBe(
      false,
    );
    expect(verifyWebhook('k', { timestamp: '1700000001', body, signature }, 1_700_000_000)).toBe(false);
    expect(verifyWebhook('k', { timestamp: '1700000000', body, signature }, 1_700_000_301)).toBe(false);
    expect(verifyWebhook('k', { timestamp: 'x', body, signature }, 1_700_000_000)).toBe(false);
  });
});
