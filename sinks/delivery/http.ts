import { StackLensError } from '../../common/errors';

/**
 * A receiver's request failed. `retryable`: worth another attempt (network error, time-out, 408, 425, 429,
 * 5xx); otherwise the request itself is refused (other 4xx) and repeating it cannot help.
 * The message names the receiver and the status, never the URL (Slack's URL is a secret).
 */
export class ReceiverRequestError extends StackLensError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A receiver answered 2xx with a body that is not what its API documents. */
export class ReceiverResponseError extends ReceiverRequestError {
  constructor(message: string) {
    super(message, false);
  }
}

/** Answers larger than this are cut: a receiver's reply is read for a status, an issue key or a search hit. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** How much of an error answer goes into the dead letter's reason. */
const REASON_CHARS = 300;

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export interface HttpRequest {
  /** Names the receiver in errors. */
  receiver: string;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  text: string;
}

/**
 * One HTTP request with a time limit; resolves on 2xx, rejects with ReceiverRequestError otherwise.
 * Redirects are not followed: a receiver URL that redirects is a misconfiguration, and following it could
 * carry the Authorization header elsewhere.
 */
export async function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    const reason = timedOut
      ? `no answer within ${request.timeoutMs} ms`
      : `${(err as Error).message}${causeOf(err)}`;
    throw new ReceiverRequestError(
      `receiver ${request.receiver}: ${request.method} failed: ${reason}`,
      true,
      undefined,
      {
        cause: err,
      },
    );
  }
  const text = await readBounded(response);
  if (response.status >= 200 && response.status < 300) return { status: response.status, text };
  throw new ReceiverRequestError(
    `receiver ${request.receiver}: HTTP ${response.status}${text === '' ? '' : `: ${text.slice(0, REASON_CHARS)}`}`,
    isRetryableStatus(response.status),
    response.status,
  );
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause === undefined ? '' : ` (${cause.code ?? cause.message ?? 'unknown cause'})`;
}

async function readBounded(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buffer = Buffer.from(chunk as Uint8Array);
    chunks.push(buffer.subarray(0, MAX_RESPONSE_BYTES - size));
    size += buffer.length;
    if (size >= MAX_RESPONSE_BYTES) {
      await response.body.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
