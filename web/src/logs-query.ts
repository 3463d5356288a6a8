import type { Params } from './api';

/** Custom attributes /api/logs takes by name (api/http/params.ts ATTRIBUTE_PARAMS); others go as attr.<name>. */
const NAMED_ATTRIBUTES = new Set([
  'circuit_id',
  'product_id',
  'resource_id',
  'resource_type_id',
  'request_id',
  'env',
]);

export const PRESETS: Record<string, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
};

/** The logs page's form, as kept in the URL fragment. */
export interface LogForm {
  service: string;
  level: string;
  range: string;
  start: string;
  end: string;
  workflow_id: string;
  trace_id: string;
  q: string;
  attributes: string;
  /** Records per page (the API's `limit`). */
  limit: string;
}

export const PAGE_SIZES = ['25', '100', '500', '1000'] as const;

export function formOf(params: Record<string, string>): LogForm {
  return {
    service: params.service ?? '',
    level: params.level ?? '',
    range: params.range ?? '1h',
    start: params.start ?? '',
    end: params.end ?? '',
    workflow_id: params.workflow_id ?? '',
    trace_id: params.trace_id ?? '',
    q: params.q ?? '',
    attributes: params.attributes ?? '',
    limit: PAGE_SIZES.find((size) => size === params.limit) ?? '100',
  };
}

/** `circuit_id=c-1, user.id=42` → query parameters; a part without `=` is reported, not guessed at. */
export function attributeParams(text: string): { params: Params; error?: string } {
  const params: Params = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return { params, error: `"${item}" is not name=value` };
    const name = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    const key = NAMED_ATTRIBUTES.has(name) || name.startsWith('attr.') ? name : `attr.${name}`;
    params[key] = value;
  }
  return { params };
}

/** The filters both the search and the live tail apply. */
export function filterParams(form: LogForm): { params: Params; error?: string } {
  const attrs = attributeParams(form.attributes);
  return {
    params: {
      service: form.service.trim(),
      level: form.level,
      workflow_id: form.workflow_id.trim(),
      trace_id: form.trace_id.trim(),
      q: form.q,
      ...attrs.params,
    },
    error: attrs.error,
  };
}

/** The search's time range: a preset back from `nowMs`, or the custom start/end (local times). */
export function rangeParams(form: LogForm, nowMs: number): Params {
  if (form.range === 'custom') {
    const iso = (local: string) => (local === '' ? undefined : new Date(local).toISOString());
    return { start_time: iso(form.start), end_time: iso(form.end) };
  }
  const span = PRESETS[form.range] ?? PRESETS['1h']!;
  return { start_time: new Date(nowMs - span).toISOString() };
}
