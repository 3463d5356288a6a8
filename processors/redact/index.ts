export { createRedactor, DEFAULT_SENSITIVE_KEYS, REDACTED } from './redactor';
export type { Redacted, RedactionConfig, RedactionPattern, Redactor } from './redactor';
export { luhnValid } from './luhn';
export { redactOtlpJsonLogs, redactOtlpJsonTraces } from './redact-otlp-json';
export type { RedactedOtlpJson } from './redact-otlp-json';
