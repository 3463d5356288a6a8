import { isRetryableStatus } from './http';

describe('isRetryableStatus', () => {
  it('retries time-outs, throttling and server errors, not requests the receiver refuses', () => {
    expect([408, 425, 429, 500, 502, 503, 504].map(isRetryableStatus)).toEqual(Array(7).fill(true));
    expect([301, 400, 401, 403, 404, 413, 422].map(isRetryableStatus)).toEqual(Array(7).fill(false));
  });
});
