import { ApiError } from '../errors';

/**
 * The request body did not arrive within the ingest body deadline (a slow or stalled upload). 408 is
 * final for OTLP clients (only 429, 502, 503 and 504 are retried): a body that trickles in this slowly
 * would hold an ingest slot again on every retry.
 */
export class BodyTimeoutError extends ApiError {
  readonly status = 408;
  readonly code = 'request_timeout';
  override readonly headers = { Connection: 'close' };
}

/** The client went away before its body was read; nobody is left to answer. */
export class ClientAbortedError extends ApiError {
  readonly status = 400;
  readonly code = 'client_aborted';
}
