import { attributeParams, filterParams, formOf, rangeParams } from './logs-query';

describe('logs page query', () => {
  it('sends named custom attributes by name and the others as attr.<name>', () => {
    expect(attributeParams('circuit_id=c-1, user.id = 42,attr.x=y')).toEqual({
      params: { circuit_id: 'c-1', 'attr.user.id': '42', 'attr.x': 'y' },
    });
    expect(attributeParams('oops').error).toMatch(/not name=value/);
  });

  it('builds the shared filters and the time range', () => {
    const form = formOf({ service: ' beorn ', level: 'error', attributes: 'request_id=r1', range: '15m' });
    expect(filterParams(form).params).toMatchObject({ service: 'beorn', level: 'error', request_id: 'r1' });
    expect(rangeParams(form, Date.UTC(2026, 0, 1, 12, 0))).toEqual({
      start_time: '2026-01-01T11:45:00.000Z',
    });
    expect(rangeParams({ ...form, range: 'custom', start: '', end: '' }, 0)).toEqual({
      start_time: undefined,
      end_time: undefined,
    });
  });
});
