/**
 * One record of the live feed, decoded on first read and at most once. The feed reads every record of
 * the pipeline's output whether or not a client is connected; decoding (Avro through the registry) is the
 * costly part, so it waits for a client filter, a serialization or a resume to need the value. The
 * result, or the failure, is kept: every client and every later resume shares one decode.
 */
export class LiveRecord<T> {
  private decode: (() => T) | undefined;
  private value: T | undefined;

  private constructor(
    decode: (() => T) | undefined,
    value: T | undefined,
    private readonly onUndecodable?: (error: Error) => void,
  ) {
    this.decode = decode;
    this.value = value;
  }

  /** A record decoded by `decode` when first read; a failure is reported once to `onUndecodable`. */
  static lazy<T>(decode: () => T, onUndecodable: (error: Error) => void): LiveRecord<T> {
    return new LiveRecord(decode, undefined, onUndecodable);
  }

  /** A record whose value is already known. */
  static of<T>(value: T): LiveRecord<T> {
    return new LiveRecord<T>(undefined, value);
  }

  /** The decoded value, or undefined when the record cannot be decoded (it is then skipped by all). */
  read(): T | undefined {
    const decode = this.decode;
    if (decode === undefined) return this.value;
    // Dropped before decoding: whatever the outcome, the raw bytes are released and never decoded again.
    this.decode = undefined;
    try {
      this.value = decode();
    } catch (error) {
      this.onUndecodable?.(error instanceof Error ? error : new Error(String(error)));
    }
    return this.value;
  }

  /** JSON.stringify of a live record is that of its value: one serialization shared by every client. */
  toJSON(): T | undefined {
    return this.read();
  }
}

/**
 * A client filter over decoded values, as a filter over live records: an undecodable record is accepted
 * by nobody, so nothing is ever serialized or sent for it.
 */
export function acceptsDecoded<T>(accepts: (value: T) => boolean): (record: LiveRecord<T>) => boolean {
  return (record) => {
    const value = record.read();
    return value !== undefined && accepts(value);
  };
}
