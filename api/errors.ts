import { StackLensError } from '../common/errors';

/**
 * An error the API answers with a definite HTTP status. The JSON body is `{ error, detail }`:
 * `error` is a stable machine-readable code, `detail` a human sentence (never a stack or a secret).
 */
export abstract class ApiError extends StackLensError {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Extra headers (e.g. Retry-After, WWW-Authenticate). */
  readonly headers: Readonly<Record<string, string>> = {};
}

/** A query parameter, path parameter or body field is invalid; `parameter` names it. */
export class BadParameterError extends ApiError {
  readonly status = 400;
  readonly code = 'bad_parameter';
  constructor(
    readonly parameter: string,
    problem: string,
  ) {
    super(`${parameter}: ${problem}`);
  }
}

/** The request line, its URL or a header cannot be parsed; the message names which part and why. */
export class BadRequestError extends ApiError {
  readonly status = 400;
  readonly code = 'bad_request';
}

/** A page of another origin (not same-origin, not in API_ALLOWED_ORIGINS) tried to open a live stream. */
export class ForbiddenOriginError extends ApiError {
  readonly status = 403;
  readonly code = 'forbidden_origin';
}

/**
 * The Host header names a host this server does not answer to: on a loopback address only loopback names,
 * IP literals and API_ALLOWED_HOSTS are served, so a DNS-rebinding page cannot reach the API.
 */
export class MisdirectedRequestError extends ApiError {
  readonly status = 421;
  readonly code = 'misdirected_request';
}

/** The request body cannot be read or decoded as the declared content type. */
export class BadPayloadError extends ApiError {
  readonly status = 400;
  readonly code = 'bad_payload';
}

export class NotFoundError extends ApiError {
  readonly status = 404;
  readonly code = 'not_found';
}

export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

export class UnauthorizedError extends ApiError {
  readonly status = 401;
  readonly code = 'unauthorized';
  override readonly headers: Readonly<Record<string, string>>;
  constructor(scheme: 'Basic' | 'Bearer') {
    super('missing or invalid credentials');
    this.headers = {
      'WWW-Authenticate':
        scheme === 'Basic' ? 'Basic realm="stacklens", charset="UTF-8"' : 'Bearer realm="stacklens"',
    };
  }
}

/** Too many live connections or in-flight requests: the client should retry later. */
export class TooManyRequestsError extends ApiError {
  readonly status = 429;
  readonly code = 'too_many_requests';
  override readonly headers = { 'Retry-After': '1' };
}

/** A dependency (ClickHouse, Kafka, …) is unreachable or not ready; retrying later may succeed. */
export class DependencyUnavailableError extends ApiError {
  readonly status = 503;
  readonly code = 'dependency_unavailable';
  override readonly headers = { 'Retry-After': '5' };
  constructor(
    readonly dependency: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency}: ${detail}`, options);
  }
}
