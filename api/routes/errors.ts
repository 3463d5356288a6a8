import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../../common/logger';
import { ApiError, BadPayloadError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors';

/** body-parser's errors (they carry `type`) as our typed errors; undefined for anything else. */
export function bodyParserError(error: unknown): ApiError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return undefined;
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError('request body exceeds the size limit');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError((error as Error).message);
    case 'entity.parse.failed':
      return new BadPayloadError(`body is not valid JSON: ${(error as Error).message}`);
    default:
      return new BadPayloadError(`could not read the request body (${type})`);
  }
}

/** Last error handler: `{ error, detail }` with the error's status; unexpected errors are logged, not echoed. */
export function jsonErrorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const apiError = error instanceof ApiError ? error : bodyParserError(error);
    // A client that went away (e.g. an abandoned query) has no one to read an answer: nothing to send or log.
    if (res.headersSent || req.socket.destroyed) {
      res.destroy();
      return;
    }
    if (apiError !== undefined) {
      if (apiError.status >= 500)
        logger.warn(
          { path: req.path, err: apiError.message, cause: (apiError.cause as Error | undefined)?.message },
          'dependency error',
        );
      res
        .status(apiError.status)
        .set(apiError.headers)
        .json({ error: apiError.code, detail: apiError.message });
      return;
    }
    logger.error(
      {
        path: req.path,
        err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
      },
      'request failed',
    );
    res.status(500).json({ error: 'internal', detail: 'internal error' });
  };
}
