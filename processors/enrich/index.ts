export { createEnricher, tokenCount } from './enricher';
export type { EnrichConfig, Enricher } from './enricher';
export { codeFromType, createErrorClassifier, DEFAULT_ERROR_CODE_RULES, UNKNOWN_ERROR } from './error-codes';
export type { ErrorClassifier, ErrorCodeRule, ErrorEvidence } from './error-codes';
