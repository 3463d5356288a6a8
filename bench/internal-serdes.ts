/**
 * Bytes per record and encode + decode time per record on the pipeline's repartition topics: the JSON of
 * the full records written before (the runtime's default serde) against the projected, versioned Avro of
 * app/pipeline/internal-serdes.ts; then the trace correlator's per-record fold at two trace sizes. CPU
 * only, no broker: figures to compare within one run (the machine is shared), never asserted.
 *
 *   npm run build && node dist/bench/internal-serdes.js [--traces 400] [--rounds 5] [--rules config/alert-rules.json]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildScenario, encodeLogs, encodeSpans } from '../app/demo/otlp-scenario';
import {
  correlationLogSerde,
  correlationSpanSerde,
  logRuleInputSerde,
} from '../app/pipeline/internal-serdes';
import { alertLogProjection, parseAlertRulesText } from '../processors/alerts';
import {
  addLog,
  addSpan,
  emptyCorrelation,
  foldLog,
  foldSpan,
  toCorrelationLog,
  toCorrelationSpan,
  type CorrelationLog,
  type CorrelationSpan,
} from '../processors/correlate';
import { createRecordPipeline } from '../processors/pipeline';
import type { Correlation, LogRecord, SpanRecord } from '../processors/records';
import { jsonSerde, type Serde } from '../topology';

interface Figures {
  bytes: number;
  encodeUs: number;
  decodeUs: number;
}

/** Best of `rounds` (the least disturbed by other work on the machine), per record. */
function measure<T, W>(records: readonly T[], toWire: (r: T) => W, serde: Serde<W>, rounds: number): Figures {
  let bytes = 0;
  let encodeUs = Infinity;
  let decodeUs = Infinity;
  for (let round = 0; round < rounds; round++) {
    const encoded: Buffer[] = new Array<Buffer>(records.length);
    let start = process.hrtime.bigint();
    for (let i = 0; i < records.length; i++) encoded[i] = serde.serialize(toWire(records[i]!))!;
    const encodeNs = Number(process.hrtime.bigint() - start);
    start = process.hrtime.bigint();
    for (const data of encoded) serde.deserialize(data);
    const decodeNs = Number(process.hrtime.bigint() - start);
    encodeUs = Math.min(encodeUs, encodeNs / 1_000 / records.length);
    decodeUs = Math.min(decodeUs, decodeNs / 1_000 / records.length);
    bytes = encoded.reduce((sum, b) => sum + b.length, 0) / records.length;
  }
  return { bytes, encodeUs, decodeUs };
}

function row(topic: string, format: string, f: Figures, base?: Figures): string {
  const ratio = base
    ? `  (${((100 * f.bytes) / base.bytes).toFixed(0)} % of the bytes, ${(base.encodeUs + base.decodeUs) / (f.encodeUs + f.decodeUs) >= 1 ? `${((base.encodeUs + base.decodeUs) / (f.encodeUs + f.decodeUs)).toFixed(1)}x faster` : 'slower'})`
    : '';
  return `${topic.padEnd(16)} ${format.padEnd(22)} ${f.bytes.toFixed(0).padStart(6)} B  ${f.encodeUs.toFixed(2).padStart(6)} µs  ${f.decodeUs.toFixed(2).padStart(6)} µs${ratio}`;
}

/** µs per record folding `size` records into one trace, in place (the correlator) and by copies (before). */
function foldCost(spans: readonly SpanRecord[], logs: readonly LogRecord[], size: number): [number, number] {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  type Input = { kind: 'span'; span: CorrelationSpan } | { kind: 'log'; log: CorrelationLog };
  const inputs = Array.from({ length: size }, (_, i): Input => {
    if (i % 2 === 0) {
      const span = {
        ...spans[i % spans.length]!,
        trace_id: traceId,
        span_id: i.toString(16).padStart(16, '0'),
      };
      return { kind: 'span', span: toCorrelationSpan(span) };
    }
    const log = { ...logs[i % logs.length]!, trace_id: traceId, id: `otel-logs:0:${i}:0` };
    return { kind: 'log', log: toCorrelationLog(log) };
  });
  const repeat = Math.max(1, Math.floor(20_000 / size));
  const time = (fold: () => void): number => {
    const start = process.hrtime.bigint();
    for (let r = 0; r < repeat; r++) fold();
    return Number(process.hrtime.bigint() - start) / 1_000 / (repeat * size);
  };
  const inPlace = time(() => {
    const c = emptyCorrelation(traceId);
    const spanIds = new Set<string>();
    for (const input of inputs) {
      if (input.kind === 'span') {
        if (spanIds.has(input.span.span_id)) continue;
        foldSpan(c, input.span);
        spanIds.add(input.span.span_id);
      } else foldLog(c, input.log);
    }
  });
  const copying = time(() => {
    let c: Correlation = emptyCorrelation(traceId);
    let spanIds: string[] = [];
    for (const input of inputs) {
      if (input.kind === 'span') {
        if (spanIds.includes(input.span.span_id)) continue;
        c = addSpan(c, input.span);
        spanIds = [...spanIds, input.span.span_id];
      } else c = addLog(c, input.log);
    }
  });
  return [inPlace, copying];
}

function main(): void {
  const { values } = parseArgs({
    options: {
      traces: { type: 'string', default: '400' },
      rounds: { type: 'string', default: '5' },
      // Relative to the working directory, as ALERT_RULES_FILE is.
      rules: { type: 'string', default: 'config/alert-rules.json' },
    },
  });
  const traces = Number(values.traces);
  const rounds = Number(values.rounds);
  const scenario = buildScenario({ traces, seed: 7, errorRate: 0.2 });
  const pipeline = createRecordPipeline();
  const position = { topic: 'otel-logs', partition: 0, offset: '0' };
  const logs = encodeLogs(scenario.logs, { batchSize: 100 }).flatMap(
    (m, i) =>
      pipeline.logs(m, { 'content-type': 'application/x-protobuf' }, { ...position, offset: String(i) })
        .records,
  );
  const spans = encodeSpans(scenario.spans, { batchSize: 100 }).flatMap(
    (m) => pipeline.spans(m, { 'content-type': 'application/x-protobuf' }).records,
  );
  const rules = parseAlertRulesText(readFileSync(values.rules, 'utf8'));
  const json = jsonSerde<unknown>();
  const tracedLogs = logs.filter((l) => l.trace_id !== '');

  console.log(
    `${logs.length} logs, ${spans.length} spans (${traces} traces); best of ${rounds} rounds, per record`,
  );
  console.log(
    `${'topic'.padEnd(16)} ${'format'.padEnd(22)} ${'bytes'.padStart(8)}  ${'encode'.padStart(9)}  ${'decode'.padStart(9)}`,
  );
  const projection = alertLogProjection(rules);
  const pairs: [string, Figures, Figures][] = [
    [
      'logs-by-service',
      measure(logs, (l) => l as unknown, json, rounds),
      measure(logs, projection, logRuleInputSerde(), rounds),
    ],
    [
      'logs-by-trace',
      measure(tracedLogs, (log) => ({ kind: 'log', log }) as unknown, json, rounds),
      measure(tracedLogs, toCorrelationLog, correlationLogSerde(), rounds),
    ],
    [
      'spans-by-trace',
      measure(spans, (span) => ({ kind: 'span', span }) as unknown, json, rounds),
      measure(spans, toCorrelationSpan, correlationSpanSerde(), rounds),
    ],
  ];
  for (const [topic, before, after] of pairs) {
    console.log(row(topic, 'JSON, full record', before));
    console.log(row(topic, 'Avro v1, projected', after, before));
  }
  console.log(
    '\ncorrelator fold per record (µs), by records per trace: in place (now) / copying the correlation and span ids (before)',
  );
  foldCost(spans, logs, 1_000); // warm-up: the first sizes would pay for the JIT otherwise
  for (const size of [13, 100, 1_000, 2_000]) {
    const [inPlace, copying] = foldCost(spans, logs, size);
    console.log(
      `${String(size).padStart(6)} records  ${inPlace.toFixed(2).padStart(7)}  /  ${copying.toFixed(2).padStart(7)}`,
    );
  }
}

main();
