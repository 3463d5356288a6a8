import type { Serde } from '../serde';

/** What window stores hold for an aggregation: the aggregate and the latest timestamp folded in. */
export interface WindowValue<A> {
  readonly aggregate: A;
  readonly timestamp: number;
}

/** 8-byte big-endian timestamp followed by the serialized aggregate. */
export function windowValueSerde<A>(aggregateSerde: Serde<A>): Serde<WindowValue<A>> {
  return {
    serialize: (value) => {
      const head = Buffer.alloc(8);
      head.writeBigInt64BE(BigInt(value.timestamp));
      const body = aggregateSerde.serialize(value.aggregate);
      return body === null ? head : Buffer.concat([head, body]);
    },
    deserialize: (data) => {
      if (data === null) throw new TypeError('window value cannot be null');
      const body = data.length > 8 ? data.subarray(8) : null;
      return { timestamp: Number(data.readBigInt64BE(0)), aggregate: aggregateSerde.deserialize(body) };
    },
  };
}
