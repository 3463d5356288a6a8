import { resolveSeverity, severityNumberFromOtlp, severityNumberFromText, severityText } from './severity';

describe('severity', () => {
  it.each([
    [0, ''],
    [1, 'TRACE'],
    [4, 'TRACE4'],
    [9, 'INFO'],
    [14, 'WARN2'],
    [17, 'ERROR'],
    [24, 'FATAL4'],
    [25, ''],
  ])('number %i → %s', (n, text) => expect(severityText(n)).toBe(text));

  it.each([
    ['ERROR', 17],
    ['warning', 13],
    ['Info', 9],
    ['DEBUG3', 7],
    ['critical', 21],
    ['verbose-ish', 0],
  ])('text %s → %i', (text, n) => expect(severityNumberFromText(text)).toBe(n));

  it('reads OTLP enum ints and names', () => {
    expect(severityNumberFromOtlp(17)).toBe(17);
    expect(severityNumberFromOtlp('SEVERITY_NUMBER_FATAL3')).toBe(23);
    expect(severityNumberFromOtlp('SEVERITY_NUMBER_UNSPECIFIED')).toBe(0);
    expect(severityNumberFromOtlp(99)).toBe(0);
  });

  it('derives the missing half and keeps given text', () => {
    expect(resolveSeverity(0, 'warn')).toEqual({ severity_number: 13, severity_text: 'warn' });
    expect(resolveSeverity(18, '')).toEqual({ severity_number: 18, severity_text: 'ERROR2' });
    expect(resolveSeverity(9, 'notice')).toEqual({ severity_number: 9, severity_text: 'notice' });
  });
});
