import { promoteCustomAttributes } from '../normalize/custom-attributes';
import type {
  OtlpJsonAnyValue,
  OtlpJsonKeyValue,
  OtlpJsonLogsRequest,
  OtlpJsonTracesRequest,
} from '../otlp/otlp-json-types';
import { anyValueToString, toAttributes } from '../otlp/values';
import { CUSTOM_ATTRIBUTE_KEYS, type Attributes } from '../records';
import { REDACTED, type Redactor } from './redactor';

/*
 * PII redaction of OTLP/JSON requests (the archive's documents), with the rules of redactLog/redactSpan:
 * a value is redacted here exactly when the pipeline redacts what normalize makes of it, and into
 * something that normalizes to the pipeline's redacted string. Normalize renders every AnyValue as a
 * string (arrays and maps as JSON, see anyValueToString) and the redactor works on those strings, so each
 * value is judged by its rendering: a string, or scalar, whose rendering changes becomes a stringValue
 * with the redacted rendering. An array or map keeps its structure when redacting its leaves (and the
 * values under sensitive keys of its maps) renders to that same redacted string; otherwise, e.g. when a
 * free-text pattern spanned JSON punctuation, it becomes that string. Either way, decoding and
 * normalizing the result yields the records the pipeline makes of the original.
 *
 * Redacted like the pipeline does: log bodies, span status messages, and the attributes of resources,
 * scopes, log records, spans, span events and span links. Names (span, event, scope), ids, times and
 * trace state are not.
 */

export interface RedactedOtlpJson<T> {
  /** The input itself when nothing was redacted, else a copy sharing the unchanged parts (never mutated). */
  value: T;
  /**
   * What the record pipeline counts for the same message: per record, its own values plus those of its
   * resource and scope (shared values count once per record) plus its promoted custom attributes.
   */
  count: number;
}

interface Result<T> {
  value: T;
  count: number;
}

function unchanged<T>(value: T): Result<T> {
  return { value, count: 0 };
}

/** `items` with `edit` applied, or `items` itself when `edit` returned every item unchanged. */
function mapShared<T>(items: T[] | undefined, edit: (item: T) => T): T[] | undefined {
  if (items === undefined) return undefined;
  let copy: T[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const next = edit(item);
    if (next !== item) (copy ??= items.slice())[i] = next;
  }
  return copy ?? items;
}

/** `object` with `changes` applied, or `object` itself when they change nothing (absent stays absent). */
function patch<T extends object>(object: T, changes: Partial<T>): T {
  for (const key of Object.keys(changes) as (keyof T)[]) {
    if (changes[key] !== object[key]) return { ...object, ...changes };
  }
  return object;
}

/** Whether anyValueToString renders the value as JSON (the same field precedence as anyValueToJs). */
function isContainer(value: OtlpJsonAnyValue): boolean {
  return (
    value.stringValue == null &&
    value.boolValue == null &&
    value.intValue == null &&
    value.doubleValue == null &&
    (value.arrayValue != null || value.kvlistValue != null)
  );
}

/**
 * Indexes of the key/values the rendering does not show: keyless ones, all but the last of a repeated key
 * (later duplicates win) and, in maps nested in values (rendered through a plain JS object), `__proto__`.
 * They are redacted too, so the archive holds no more than the records, but, like the pipeline, not counted.
 */
function shadowed(list: readonly OtlpJsonKeyValue[], nested: boolean): Set<number> {
  const seen = new Set<string>();
  const hidden = new Set<number>();
  for (let i = list.length - 1; i >= 0; i--) {
    const key = list[i]!.key;
    if (key == null || seen.has(key) || (nested && key === '__proto__')) hidden.add(i);
    else seen.add(key);
  }
  return hidden;
}

function otlpJsonRedaction(redactor: Redactor) {
  /**
   * Leaf-wise redaction of a value nested in an array or map (same field precedence as anyValueToJs):
   * strings and scalars by their text, and the whole value under a sensitive map key unless it already
   * shows a redaction (what the free-text `key: value` rule does to the rendered JSON). `count` covers
   * what the rendering shows.
   */
  function redactTree(value: OtlpJsonAnyValue): Result<OtlpJsonAnyValue> {
    if (!isContainer(value)) {
      const r = redactor.redactText(anyValueToString(value));
      return r.count === 0 ? unchanged(value) : { value: { stringValue: r.value }, count: r.count };
    }
    let count = 0;
    if (value.arrayValue != null) {
      const values = mapShared(value.arrayValue.values, (item) => {
        const r = redactTree(item);
        count += r.count;
        return r.value;
      });
      return { value: patch(value, { arrayValue: patch(value.arrayValue, { values }) }), count };
    }
    const kvlist = value.kvlistValue!;
    let hidden: Set<number> | undefined;
    let index = -1;
    const values = mapShared(kvlist.values, (kv) => {
      index++;
      // Keys are rendered too (`{"jane@example.com": ...}`).
      const key = kv.key == null ? unchanged(kv.key) : redactor.redactText(kv.key);
      let nested = kv.value === undefined ? unchanged(kv.value) : redactTree(kv.value);
      if (
        kv.key != null &&
        redactor.isSensitiveKey(kv.key) &&
        !anyValueToString(nested.value).includes('[REDACTED')
      )
        nested = { value: { stringValue: REDACTED }, count: nested.count + 1 };
      if (nested.value === kv.value && key.count === 0) return kv;
      hidden ??= shadowed(kvlist.values!, true);
      if (!hidden.has(index)) count += key.count + nested.count;
      return { ...kv, key: key.value, value: nested.value };
    });
    return { value: patch(value, { kvlistValue: patch(kvlist, { values }) }), count };
  }

  /**
   * The value to archive for one whose rendering redacts to `redacted`: it must render to exactly that.
   * Arrays and maps are walked even when their rendering is clean, for what it does not show.
   */
  function replacement(value: OtlpJsonAnyValue, redacted: Result<string>): OtlpJsonAnyValue {
    if (isContainer(value)) {
      const tree = redactTree(value);
      if (
        tree.count === redacted.count &&
        (tree.value === value || anyValueToString(tree.value) === redacted.value)
      )
        return tree.value;
    } else if (redacted.count === 0) return value;
    return { stringValue: redacted.value };
  }

  function redactBody(body: OtlpJsonAnyValue | undefined): Result<OtlpJsonAnyValue | undefined> {
    if (body === undefined) return unchanged(body);
    const r = redactor.redactText(anyValueToString(body));
    return { value: replacement(body, r), count: r.count };
  }

  function redactText(text: string | undefined): Result<string | undefined> {
    return text === undefined ? unchanged(text) : redactor.redactText(text);
  }

  /**
   * A key/value no record shows (see shadowed): there is no rendering to match, so it gets the leaf-wise
   * walk, which also reaches what the free-text rules cannot see in rendered JSON (e.g. escaped quotes).
   */
  function redactShadowed(key: string | undefined, value: OtlpJsonAnyValue): OtlpJsonAnyValue {
    if (key === undefined || !redactor.isSensitiveKey(key)) return redactTree(value).value;
    return redactor.redactAttribute(key, anyValueToString(value)).count === 0
      ? value
      : { stringValue: REDACTED };
  }

  function redactKeyValues(list: OtlpJsonKeyValue[] | undefined): Result<OtlpJsonKeyValue[] | undefined> {
    if (list === undefined) return unchanged(list);
    let hidden: Set<number> | undefined;
    let count = 0;
    let index = -1;
    const value = mapShared(list, (kv) => {
      index++;
      if (kv.value === undefined) return kv;
      const r = redactor.redactAttribute(kv.key ?? '', anyValueToString(kv.value));
      // A clean scalar is left as it is, shown or not.
      if (r.count === 0 && !isContainer(kv.value)) return kv;
      hidden ??= shadowed(list, false);
      let value: OtlpJsonAnyValue;
      if (hidden.has(index)) value = redactShadowed(kv.key, kv.value);
      else {
        value = replacement(kv.value, r);
        count += r.count;
      }
      return value === kv.value ? kv : { ...kv, value };
    });
    return { value, count };
  }

  /** A resource, scope, span event or link with its attributes redacted. */
  function redactHolder<T extends { attributes?: OtlpJsonKeyValue[] } | undefined>(holder: T): Result<T> {
    if (holder === undefined) return unchanged(holder);
    const attributes = redactKeyValues(holder.attributes);
    const changes: Partial<NonNullable<T>> = {};
    changes.attributes = attributes.value;
    return { value: patch(holder, changes), count: attributes.count };
  }

  /**
   * What the redactor counts in the promoted custom attributes (service, env, request_id...), which
   * normalize copies from the record's and the resource's attributes: the pipeline counts them on top.
   * A promoted value is a copy of an attribute value, redacted by the same free-text rules, so only a
   * record with a redacted attribute of its own or of its resource needs the look (`attributesRedacted`;
   * a configured pattern that matches the `[REDACTED]` marker itself would be the exception).
   */
  function promotedCount(
    attributesRedacted: boolean,
    attributes: OtlpJsonKeyValue[] | undefined,
    resource: Attributes,
  ): number {
    if (!attributesRedacted) return 0;
    const promoted = promoteCustomAttributes(toAttributes(attributes), resource);
    let count = 0;
    for (const key of CUSTOM_ATTRIBUTE_KEYS) count += redactor.redactText(promoted[key]).count;
    return count;
  }

  return { redactBody, redactText, redactKeyValues, redactHolder, promotedCount };
}

/** An OTLP/JSON ExportLogsServiceRequest with PII redacted as redactLog does (see the file comment). */
export function redactOtlpJsonLogs(
  redactor: Redactor,
  request: OtlpJsonLogsRequest,
): RedactedOtlpJson<OtlpJsonLogsRequest> {
  const r = otlpJsonRedaction(redactor);
  let count = 0;
  const resourceLogs = mapShared(request.resourceLogs, (resourceLogs) => {
    const resource = r.redactHolder(resourceLogs.resource);
    const resourceAttributes = toAttributes(resourceLogs.resource?.attributes);
    const scopeLogs = mapShared(resourceLogs.scopeLogs, (scopeLogs) => {
      const scope = r.redactHolder(scopeLogs.scope);
      const logRecords = mapShared(scopeLogs.logRecords, (log) => {
        const body = r.redactBody(log.body);
        const attributes = r.redactKeyValues(log.attributes);
        count +=
          body.count +
          attributes.count +
          resource.count +
          scope.count +
          r.promotedCount(attributes.count + resource.count > 0, log.attributes, resourceAttributes);
        return patch(log, { body: body.value, attributes: attributes.value });
      });
      return patch(scopeLogs, { scope: scope.value, logRecords });
    });
    return patch(resourceLogs, { resource: resource.value, scopeLogs });
  });
  return { value: patch(request, { resourceLogs }), count };
}

/** An OTLP/JSON ExportTraceServiceRequest with PII redacted as redactSpan does (see the file comment). */
export function redactOtlpJsonTraces(
  redactor: Redactor,
  request: OtlpJsonTracesRequest,
): RedactedOtlpJson<OtlpJsonTracesRequest> {
  const r = otlpJsonRedaction(redactor);
  let count = 0;
  const withAttributes = <T extends { attributes?: OtlpJsonKeyValue[] }>(item: T): T => {
    const redacted = r.redactHolder(item);
    count += redacted.count;
    return redacted.value;
  };
  const resourceSpans = mapShared(request.resourceSpans, (resourceSpans) => {
    const resource = r.redactHolder(resourceSpans.resource);
    const resourceAttributes = toAttributes(resourceSpans.resource?.attributes);
    const scopeSpans = mapShared(resourceSpans.scopeSpans, (scopeSpans) => {
      const scope = r.redactHolder(scopeSpans.scope);
      const spans = mapShared(scopeSpans.spans, (span) => {
        const attributes = r.redactKeyValues(span.attributes);
        const message = r.redactText(span.status?.message);
        count +=
          attributes.count +
          message.count +
          resource.count +
          scope.count +
          r.promotedCount(attributes.count + resource.count > 0, span.attributes, resourceAttributes);
        return patch(span, {
          attributes: attributes.value,
          events: mapShared(span.events, withAttributes),
          links: mapShared(span.links, withAttributes),
          status: span.status && patch(span.status, { message: message.value }),
        });
      });
      return patch(scopeSpans, { scope: scope.value, spans });
    });
    return patch(resourceSpans, { resource: resource.value, scopeSpans });
  });
  return { value: patch(request, { resourceSpans }), count };
}
