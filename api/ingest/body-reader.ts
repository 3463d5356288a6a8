import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { BadPayloadError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors';
import { BodyTimeoutError, ClientAbortedError } from './errors';

export interface BodyLimits {
  /** Largest body accepted, counted after decompression. */
  maxBytes: number;
  /** Time from the start of reading to the last byte; a slower upload is cut off with 408. */
  timeoutMs: number;
}

function decoder(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'identity':
    case '':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      throw new UnsupportedMediaTypeError(
        `Content-Encoding "${encoding}" is not supported (gzip, deflate, br or identity)`,
      );
  }
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `request body exceeds the ingest limit of ${maxBytes} bytes after decompression (INGEST_MAX_BODY_BYTES)`,
  );
}

/**
 * Reads a request body, decompressing it as a stream, and fails as soon as the decompressed size passes
 * `maxBytes`: a gzip bomb costs at most `maxBytes` of output (one zlib chunk past it), never its full
 * expansion. A declared Content-Length over the limit fails before anything is read. The whole body must
 * arrive within `timeoutMs`, so a slow upload cannot hold an ingest slot for Node's request timeout.
 *
 * On failure the socket is no longer read from: the caller answers with `Connection: close` (a stalled
 * or oversized upload must not keep the connection) and Node closes it once the answer is sent.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    return Promise.reject(tooLarge(limits.maxBytes));
  }
  let inflater: Transform | undefined;
  try {
    inflater = decoder(encoding);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  const output = inflater ?? req;

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let rawSize = 0;
    let settled = false;
    // Error listeners stay attached after settling (finish ignores later calls): a stream error with no
    // listener would be an uncaught exception.
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onRaw);
      req.off('close', onClose);
      output.off('data', onData);
      output.off('end', onEnd);
      if (inflater !== undefined) {
        req.unpipe(inflater);
        // Stops zlib at once: no further chunk of a bomb is inflated.
        inflater.destroy();
      }
      if (error === undefined) {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        return;
      }
      chunks.length = 0;
      // Whatever the client still sends is read and discarded (nothing is inflated or kept) until the
      // answer closes the connection: leaving it unread could reset the connection before the client
      // reads the answer.
      req.resume();
      reject(error);
    };
    const onRaw = (chunk: Buffer) => {
      // The compressed stream is bounded too: a body that never ends must not be read forever.
      rawSize += chunk.length;
      if (rawSize > limits.maxBytes) finish(tooLarge(limits.maxBytes));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) finish(tooLarge(limits.maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    const onClose = () => {
      if (!req.complete) finish(new ClientAbortedError('the client closed the connection mid-body'));
    };
    const onError = (error: Error) =>
      finish(new ClientAbortedError(`could not read the request body: ${error.message}`));
    const onInflateError = (error: Error) =>
      finish(new BadPayloadError(`body is not valid ${encoding} data: ${error.message}`));
    const timer = setTimeout(
      () =>
        finish(
          new BodyTimeoutError(
            `request body not received within ${limits.timeoutMs} ms (INGEST_BODY_TIMEOUT_SECONDS)`,
          ),
        ),
      limits.timeoutMs,
    );

    if (inflater !== undefined) req.on('data', onRaw);
    req.on('close', onClose);
    req.on('error', onError);
    output.on('data', onData);
    output.on('end', onEnd);
    inflater?.on('error', onInflateError);
    if (inflater !== undefined) req.pipe(inflater);
  });
}
