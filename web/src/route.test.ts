import { hrefOf, parseRoute } from './route';

describe('console routes', () => {
  it('round-trips every page through the URL fragment', () => {
    for (const route of [
      { page: 'alerts' },
      { page: 'services' },
      { page: 'patterns' },
      { page: 'backtest' },
      { page: 'trace', traceId: 'ab12' },
      { page: 'logs', params: { service: 'beorn', q: 'card declined & more' } },
    ] as const) {
      expect(parseRoute(hrefOf(route))).toEqual(route);
    }
  });

  it('falls back to the alerts page', () => {
    expect(parseRoute('')).toEqual({ page: 'alerts' });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'alerts' });
  });
});
