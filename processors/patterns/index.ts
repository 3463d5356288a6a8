export * from './drain';
export * from './pattern-anomalies';
