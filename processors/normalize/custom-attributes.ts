import type { Attributes, CustomAttributes } from '../records';

/**
 * Where each promoted field is looked up, in priority order. Record (log/span) attributes are searched
 * before resource attributes, except `service`, whose authority is the resource's `service.name`
 * (the ClickHouse ServiceName column).
 */
const LOOKUP: Record<Exclude<keyof CustomAttributes, 'service'>, readonly string[]> = {
  env: ['deployment.environment.name', 'deployment.environment', 'env', 'environment'],
  workflow_id: ['workflow_id', 'workflow.id'],
  circuit_id: ['circuit_id', 'circuit.id'],
  product_id: ['product_id', 'product.id'],
  resource_id: ['resource_id', 'resource.id'],
  resource_type_id: ['resource_type_id', 'resource_type.id', 'resource.type.id'],
  request_id: ['request_id', 'request.id', 'http.request.id'],
};

function first(keys: readonly string[], record: Attributes, resource: Attributes): string {
  for (const key of keys) {
    const v = record[key];
    if (v !== undefined && v !== '') return v;
  }
  for (const key of keys) {
    const v = resource[key];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

/** The seeds' custom attributes, promoted from record and resource attributes ('' when absent). */
export function promoteCustomAttributes(record: Attributes, resource: Attributes): CustomAttributes {
  return {
    service:
      resource['service.name'] || record['service.name'] || record['service'] || resource['service'] || '',
    env: first(LOOKUP.env, record, resource),
    workflow_id: first(LOOKUP.workflow_id, record, resource),
    circuit_id: first(LOOKUP.circuit_id, record, resource),
    product_id: first(LOOKUP.product_id, record, resource),
    resource_id: first(LOOKUP.resource_id, record, resource),
    resource_type_id: first(LOOKUP.resource_type_id, record, resource),
    request_id: first(LOOKUP.request_id, record, resource),
  };
}
