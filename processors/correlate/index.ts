export { addLog, addSpan, emptyCorrelation, mergeCorrelations } from './correlation';
