/**
 * OTel log severity (https://opentelemetry.io/docs/specs/otel/logs/data-model/#field-severitynumber):
 * numbers 1-24 in six ranges of four; the short names are TRACE, TRACE2..TRACE4, DEBUG, ... FATAL4.
 */
const RANGE_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;

export const SEVERITY = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 } as const;

/** Short name of a severity number ('' for 0/unspecified or out of range). */
export function severityText(severityNumber: number): string {
  if (!Number.isInteger(severityNumber) || severityNumber < 1 || severityNumber > 24) return '';
  const range = RANGE_NAMES[Math.floor((severityNumber - 1) / 4)]!;
  const step = (severityNumber - 1) % 4;
  return step === 0 ? range : `${range}${step + 1}`;
}

/** Common level words of logging libraries, mapped to the first number of their OTel range. */
const WORDS: Record<string, number> = {
  trace: SEVERITY.TRACE,
  finest: SEVERITY.TRACE,
  debug: SEVERITY.DEBUG,
  fine: SEVERITY.DEBUG,
  info: SEVERITY.INFO,
  information: SEVERITY.INFO,
  informational: SEVERITY.INFO,
  notice: SEVERITY.INFO + 1,
  warn: SEVERITY.WARN,
  warning: SEVERITY.WARN,
  error: SEVERITY.ERROR,
  err: SEVERITY.ERROR,
  severe: SEVERITY.ERROR,
  critical: SEVERITY.FATAL,
  crit: SEVERITY.FATAL,
  alert: SEVERITY.FATAL + 1,
  emerg: SEVERITY.FATAL + 2,
  emergency: SEVERITY.FATAL + 2,
  fatal: SEVERITY.FATAL,
  panic: SEVERITY.FATAL,
};

const WITH_STEP = /^([a-z]+)([2-4])?$/;

/** Severity number of a level text (`ERROR`, `warning`, `DEBUG3`, ...); 0 when unknown. */
export function severityNumberFromText(text: string): number {
  const match = WITH_STEP.exec(text.trim().toLowerCase());
  if (match === null) return 0;
  const base = WORDS[match[1]!];
  if (base === undefined) return 0;
  return match[2] === undefined ? base : Math.min(base + Number(match[2]) - 1, 24);
}

const ENUM_NAME = /^SEVERITY_NUMBER_([A-Z]+)([2-4])?$/;

/** OTLP SeverityNumber field (int, or enum name in JSON) as a number; 0 when absent or invalid. */
export function severityNumberFromOtlp(value: number | string | null | undefined): number {
  if (value == null) return 0;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 24 ? value : 0;
  const match = ENUM_NAME.exec(value);
  if (match === null) return 0;
  return severityNumberFromText(`${match[1]!}${match[2] ?? ''}`);
}

/** Resolves number and text: each is derived from the other when missing; a given text is kept as sent. */
export function resolveSeverity(
  number: number,
  text: string,
): { severity_number: number; severity_text: string } {
  if (number === 0 && text !== '')
    return { severity_number: severityNumberFromText(text), severity_text: text };
  return { severity_number: number, severity_text: text !== '' ? text : severityText(number) };
}
