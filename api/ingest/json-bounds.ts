import { BadPayloadError, PayloadTooLargeError } from '../errors';
import { MAX_JSON_DEPTH, tooManyItems, type ElementLimits } from './limits';

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * Checks a JSON body's nesting depth and element count in one pass over its bytes, before JSON.parse
 * builds anything: objects count one each, and so does every array element that is not an object, so
 * `[1,1,1,…]` and `[{},{},…]` cost the same. Syntax is left to JSON.parse; this only needs to find
 * containers, which it does correctly for valid JSON and harmlessly for invalid JSON.
 * @throws PayloadTooLargeError past INGEST_MAX_ITEMS or MAX_JSON_DEPTH
 */
export function checkJsonBounds(body: Buffer, limits: ElementLimits): void {
  const arrays = new Uint8Array(MAX_JSON_DEPTH + 1); // 1 where the container at that depth is an array
  let depth = 0;
  let items = 0;
  // True right after `[` or `,` inside an array: the next token starts an element.
  let elementStart = false;
  const count = () => {
    if (++items > limits.maxItems) throw tooManyItems(limits.maxItems);
  };
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (isWhitespace(byte)) continue;
    if (elementStart && byte !== CLOSE_ARRAY) {
      if (byte !== OPEN_OBJECT) count();
    }
    elementStart = false;
    switch (byte) {
      case QUOTE:
        // Skip the string: nothing inside it is structure.
        for (i++; i < body.length && body[i] !== QUOTE; i++) if (body[i] === BACKSLASH) i++;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (++depth > MAX_JSON_DEPTH) {
          throw new PayloadTooLargeError(`JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
        }
        if (byte === OPEN_OBJECT) {
          arrays[depth] = 0;
          count();
        } else {
          arrays[depth] = 1;
          elementStart = true;
        }
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth = Math.max(0, depth - 1);
        break;
      case COMMA:
        elementStart = arrays[depth] === 1;
        break;
      default:
        break;
    }
  }
}

/** JSON.parse of a body already bounded by checkJsonBounds. */
export function parseBoundedJson(body: Buffer, limits: ElementLimits): unknown {
  checkJsonBounds(body, limits);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new BadPayloadError(`body is not valid JSON: ${(error as Error).message}`);
  }
}
