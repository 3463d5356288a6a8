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
