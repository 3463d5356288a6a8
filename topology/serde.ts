/**
 * Turns values into bytes and back, for topics, repartition topics and changelogs.
 * `null` stays `null` in both directions so that tombstones and null keys survive the trip.
 */
export interface Serde<T> {
  serialize(value: T): Buffer | null;
  deserialize(data: Buffer | null): T;
}

/** JSON text; the default serde of the runtime (keys and values must be JSON-representable). */
export function jsonSerde<T>(): Serde<T> {
  return {
    serialize: (value) => (value === null || value === undefined ? null : Buffer.from(JSON.stringify(value))),
    deserialize: (data) => (data === null ? null : JSON.parse(data.toString('utf8'))) as T,
  };
}

/** UTF-8 strings; `stringSerde<string | null>()` when nulls are expected. */
export function stringSerde<T extends string | null = string>(): Serde<T> {
  return {
    serialize: (value) => (value === null ? null : Buffer.from(value, 'utf8')),
    deserialize: (data) => (data === null ? null : data.toString('utf8')) as T,
  };
}

/** Raw bytes, untouched. */
export function bufferSerde(): Serde<Buffer | null> {
  return { serialize: (value) => value, deserialize: (data) => data };
}

/** A list of values, each length-prefixed (4 bytes, -1 for null) with the inner serde. */
export function listSerde<T>(inner: Serde<T>): Serde<T[]> {
  return {
    serialize: (values) => {
      const parts: Buffer[] = [];
      for (const value of values) {
        const bytes = inner.serialize(value);
        const length = Buffer.alloc(4);
        length.writeInt32BE(bytes === null ? -1 : bytes.length);
        parts.push(length);
        if (bytes !== null) parts.push(bytes);
      }
      return Buffer.concat(parts);
    },
    deserialize: (data) => {
      const values: T[] = [];
      let at = 0;
      while (data !== null && at < data.length) {
        const length = data.readInt32BE(at);
        at += 4;
        values.push(inner.deserialize(length < 0 ? null : data.subarray(at, at + length)));
        at += Math.max(length, 0);
      }
      return values;
    },
  };
}
