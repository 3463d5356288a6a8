import { z } from 'zod';
import { BadParameterError } from '../errors';

/**
 * Keyset pagination position: the (time, row key) of the last row of a page. Pages are ordered by
 * (Timestamp DESC, row key DESC), and the next page asks for rows strictly before this position, so rows
 * inserted meanwhile never shift a page (new rows land before the first page; late rows with an old
 * timestamp appear where they belong, never twice).
 */
export interface LogCursor {
  /** Epoch ns. */
  timeNanos: bigint;
  /** Row key (see LOG_ROW_KEY). */
  rowKey: string;
}

const wire = z.strictObject({
  v: z.literal(1),
  t: z.string().regex(/^\d{1,19}$/),
  k: z.string().min(1).max(256),
});

export function encodeCursor(cursor: LogCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, t: cursor.timeNanos.toString(), k: cursor.rowKey })).toString(
    'base64url',
  );
}

export function decodeCursor(text: string, parameter = 'cursor'): LogCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new BadParameterError(parameter, 'is not a cursor returned by this API');
  }
  const result = wire.safeParse(parsed);
  if (!result.success || BigInt(result.data.t) > 9_223_372_036_854_775_807n) {
    throw new BadParameterError(parameter, 'is not a cursor returned by this API');
  }
  return { timeNanos: BigInt(result.data.t), rowKey: result.data.k };
}
