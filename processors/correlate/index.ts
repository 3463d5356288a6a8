export {
  addLog,
  addSpan,
  copyCorrelation,
  emptyCorrelation,
  foldLog,
  foldSpan,
  mergeCorrelations,
  toCorrelationLog,
  toCorrelationSpan,
} from './correlation';
export type { CorrelationLog, CorrelationSpan, CorrelationSpanEvent } from './correlation';
export { logPart, spanPart } from './part';
export type { CorrelationPart } from './part';
