import { z } from 'zod';
import { LogContractSchema, type LogContractRecord } from '../../processors/json-log/contract';

/**
 * JSON logs produced to otel-logs, one record per Kafka message, in the seeds' log contract — validated
 * with the json-log processor's own schema, so whatever the API accepts the pipeline decodes.
 */
export type JsonLogRecord = LogContractRecord;

/** `POST /api/ingest/log`: exactly the contract. */
export const singleLogSchema = LogContractSchema;

const contract = LogContractSchema.shape;

/** Optional contract fields a batch record may carry at top level. */
const CONTRACT_OPTIONAL = {
  trace_id: contract.trace_id,
  span_id: contract.span_id,
  request_id: contract.request_id,
  error_code: contract.error_code,
  user_id: contract.user_id,
  product_id: contract.product_id,
  action: contract.action,
  status: contract.status,
  app_version: contract.app_version,
};

/** `POST /api/logs`: the seed correlation engine's batch (resource + records with labels). */
export const logBatchSchema = (maxRecords: number) =>
  z.strictObject({
    resource: z.looseObject({
      service: contract.service,
      host: z.string().nullish(),
      env: z.string().nullish(),
    }),
    records: z
      .array(
        z.looseObject({
          timestamp: contract.timestamp,
          severity: contract.level.optional(),
          message: contract.message,
          ...CONTRACT_OPTIONAL,
          labels: z.record(z.string(), z.unknown()).optional(),
        }),
      )
      .min(1, 'must hold at least one record')
      .max(maxRecords, `must hold at most ${maxRecords} records`),
  });

type LogBatch = z.output<ReturnType<typeof logBatchSchema>>;

const BATCH_FIELDS = new Set([
  'timestamp',
  'severity',
  'message',
  'labels',
  ...Object.keys(CONTRACT_OPTIONAL),
]);

function withoutNullish(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined));
}

/**
 * One contract record per batch record. The resource's service becomes `service`; its other fields (host,
 * env, …), the record's extra fields (circuit_id, …) and its labels become `attrs`, in that order of
 * increasing precedence.
 */
export function fromBatch(batch: LogBatch): JsonLogRecord[] {
  const { service, ...resource } = batch.resource;
  return batch.records.map((record) => {
    const fields = record as Record<string, unknown>;
    const extras = Object.fromEntries(Object.entries(fields).filter(([k]) => !BATCH_FIELDS.has(k)));
    const optional = withoutNullish(
      Object.fromEntries(Object.keys(CONTRACT_OPTIONAL).map((k) => [k, fields[k]])),
    );
    return {
      ...optional,
      timestamp: record.timestamp,
      service,
      level: record.severity ?? 'info',
      message: record.message,
      trace_id: record.trace_id ?? null,
      span_id: record.span_id ?? null,
      attrs: withoutNullish({ ...resource, ...extras, ...record.labels }),
    };
  });
}
