import type { Express, NextFunction, Request, Response } from 'express';
import type { Logger } from '../../common/logger';
import type { ApiLimits, IngestMessage, IngestProducer, IngestTopics } from '../deps';
import {
  ApiError,
  BadPayloadError,
  DependencyUnavailableError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
} from '../errors';
import { parseWith } from '../http/params';
import type { ApiMetrics } from '../http/metrics';
import type { RouteDoc } from '../http/route-doc';
import { readBody } from '../ingest/body-reader';
import { IngestNotStoredError } from '../ingest/kafka-producer';
import { parseBoundedJson } from '../ingest/json-bounds';
import { fromBatch, logBatchSchema, singleLogSchema, type JsonLogRecord } from '../ingest/json-logs';
import {
  RpcCode,
  encodeStatus,
  encodeSuccess,
  otlpContentType,
  prepareOtlpRequest,
  recordNoun,
  type OtlpContentType,
  type OtlpSignal,
} from '../ingest/otlp-codec';

export interface IngestRouteDeps {
  producer: IngestProducer;
  topics: IngestTopics;
  limits: ApiLimits;
  metrics: ApiMetrics;
  logger: Logger;
}

/**
 * Produces and waits for the producer's definite outcome: no timer races the send, so a 503 is answered
 * only when the producer reports the messages were not stored (see api/ingest/kafka-producer.ts for how
 * it bounds its own time and why a failed send leaves nothing a retry could duplicate).
 */
async function produceOrFail(deps: IngestRouteDeps, topic: string, messages: IngestMessage[]): Promise<void> {
  try {
    await deps.producer.produce(topic, messages);
  } catch (error) {
    if (error instanceof IngestNotStoredError && error.tooLarge) {
      deps.logger.error(
        { topic, err: error.message },
        'the broker refused an ingest message as too large: set INGEST_MAX_MESSAGE_BYTES below the topic max.message.bytes',
      );
      throw new PayloadTooLargeError(
        `the broker refused a message of this request as too large (over ${topic}'s max.message.bytes)`,
      );
    }
    // `definite: false` (a commit with no answer) is the one 503 after which the request may be stored.
    const definite = error instanceof IngestNotStoredError ? error.definite : undefined;
    deps.logger.warn({ topic, err: (error as Error).message, definite }, 'ingest produce failed');
    throw new DependencyUnavailableError('kafka', 'could not store the request; retry later', {
      cause: error,
    });
  }
}

const OTLP_STATUS: Record<number, number> = {
  400: RpcCode.INVALID_ARGUMENT,
  401: RpcCode.UNAUTHENTICATED,
  408: RpcCode.DEADLINE_EXCEEDED,
  413: RpcCode.INVALID_ARGUMENT,
  415: RpcCode.INVALID_ARGUMENT,
  429: RpcCode.RESOURCE_EXHAUSTED,
  503: RpcCode.UNAVAILABLE,
};

export function registerIngestRoutes(app: Express, deps: IngestRouteDeps): RouteDoc[] {
  // Admission before the body is read: bodies of requests in flight are what ingest holds in memory.
  let inflight = 0;
  const admit = (_req: Request, res: Response, next: NextFunction) => {
    if (inflight >= deps.limits.maxInflightIngest) {
      next(new TooManyRequestsError('too many ingest requests in flight; retry later'));
      return;
    }
    inflight++;
    // Released once, on whichever comes first: the answer sent, or the connection gone (client abort,
    // body timeout, error). 'close' fires in every case; 'finish' lets the next request in sooner.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inflight--;
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
  const elementLimits = { maxItems: deps.limits.maxIngestItems };
  const otlpLimits = { ...elementLimits, maxMessageBytes: deps.limits.maxMessageBytes };
  const body = (req: Request, maxBytes: number) =>
    readBody(req, { maxBytes, timeoutMs: deps.limits.bodyTimeoutMs });

  const otlp = (signal: OtlpSignal) => {
    const topic = signal === 'logs' ? deps.topics.logs : deps.topics.traces;
    const endpoint = `/v1/${signal}`;
    // Content type is checked before the body is read, so an unsupported one costs nothing.
    const checkType = (req: Request, _res: Response, next: NextFunction) => {
      if (otlpContentType(req.get('content-type')) === undefined) {
        next(
          new UnsupportedMediaTypeError('Content-Type must be application/x-protobuf or application/json'),
        );
      } else next();
    };
    const handle = async (req: Request, res: Response) => {
      const contentType = otlpContentType(req.get('content-type')) as OtlpContentType;
      const prepared = prepareOtlpRequest(
        signal,
        contentType,
        await body(req, deps.limits.maxOtlpBodyBytes),
        otlpLimits,
      );
      const { rejections } = prepared;
      if (prepared.accepted === 0 && rejections.count > 0) {
        // Nothing to store: the whole request is refused, 413 when only size stood in the way.
        const message = rejections.message(recordNoun(signal));
        throw rejections.onlyOversize() ? new PayloadTooLargeError(message) : new BadPayloadError(message);
      }
      if (prepared.messages.length > 0) {
        await produceOrFail(
          deps,
          topic,
          prepared.messages.map((value) => ({ value, headers: { 'content-type': contentType } })),
        );
      }
      deps.metrics.ingested.labels(endpoint, 'accepted').inc();
      res
        .status(200)
        .type(contentType)
        .send(encodeSuccess(signal, contentType, rejections));
    };
    // OTLP clients expect google.rpc.Status bodies in the request's encoding, with OTLP's retry semantics.
    const otlpErrors = (error: unknown, req: Request, res: Response, next: NextFunction) => {
      if (!(error instanceof ApiError)) return next(error);
      const apiError = error;
      const contentType = otlpContentType(req.get('content-type')) ?? 'application/json';
      deps.metrics.ingested.labels(endpoint, apiError.status === 503 ? 'unavailable' : 'rejected').inc();
      if (!req.complete) res.set('Connection', 'close');
      res
        .status(apiError.status)
        .set(apiError.headers)
        .type(contentType)
        .send(encodeStatus(contentType, OTLP_STATUS[apiError.status] ?? RpcCode.INTERNAL, apiError.message));
    };
    app.post(endpoint, admit, checkType, handle);
    app.use(endpoint, otlpErrors);
  };
  otlp('logs');
  otlp('traces');

  const produceJsonLogs = async (endpoint: string, records: JsonLogRecord[], res: Response) => {
    const messages = records.map((r, i) => {
      const value = JSON.stringify(r);
      if (Buffer.byteLength(value) > deps.limits.maxMessageBytes) {
        throw new PayloadTooLargeError(
          `record ${i} is over the ${deps.limits.maxMessageBytes} bytes of one Kafka message (INGEST_MAX_MESSAGE_BYTES)`,
        );
      }
      return { key: r.trace_id ?? r.service, value, headers: { 'content-type': 'application/json' } };
    });
    await produceOrFail(deps, deps.topics.logs, messages);
    deps.metrics.ingested.labels(endpoint, 'accepted').inc();
    res.status(202).json({ accepted: records.length });
  };
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is('application/json'))
      next(new UnsupportedMediaTypeError('Content-Type must be application/json'));
    else next();
  };
  const batchSchema = logBatchSchema(deps.limits.maxBatchRecords);
  /** The JSON body, bounded in bytes, depth and elements before JSON.parse builds it. */
  const jsonBody = async (req: Request): Promise<unknown> => {
    const raw = await body(req, deps.limits.maxJsonBodyBytes);
    if (raw.length === 0) throw new BadPayloadError('body is empty');
    return parseBoundedJson(raw, elementLimits);
  };
  // Connection: close when the body was not read to its end, so the rest of it is not read as a request.
  const closeUnread = (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!req.complete) res.set('Connection', 'close');
    next(error);
  };

  app.post('/api/logs', admit, requireJson, async (req, res) => {
    await produceJsonLogs('/api/logs', fromBatch(parseWith(batchSchema, await jsonBody(req))), res);
  });
  app.post('/api/ingest/log', admit, requireJson, async (req, res) => {
    await produceJsonLogs('/api/ingest/log', [parseWith(singleLogSchema, await jsonBody(req))], res);
  });
  app.use(['/api/logs', '/api/ingest/log'], closeUnread);

  const otlpResponses = {
    200: 'Export*ServiceResponse, in the request encoding; partial_success counts the records refused and why',
    400: 'google.rpc.Status: the payload does not decode, or no record in it is valid',
    401: 'Missing or invalid credentials',
    408: 'google.rpc.Status: the body did not arrive within INGEST_BODY_TIMEOUT_SECONDS',
    413: 'google.rpc.Status: over INGEST_MAX_BODY_BYTES or INGEST_MAX_ITEMS, nested too deep, or no record fits a message',
    415: 'Unsupported content type',
    429: 'google.rpc.Status: too many requests in flight; retry with backoff',
    503: 'google.rpc.Status: Kafka unavailable; retry with backoff',
  };
  const otlpBody = (signal: string) => ({
    contentTypes: ['application/x-protobuf', 'application/json'],
    description: `OTLP Export${signal}ServiceRequest, protobuf or JSON, optionally Content-Encoding: gzip`,
  });
  const jsonResponses = {
    202: '{ accepted }',
    400: 'A field is invalid (named in detail)',
    401: 'Missing or invalid credentials',
    408: 'The body did not arrive within INGEST_BODY_TIMEOUT_SECONDS',
    413: 'Over INGEST_MAX_BODY_BYTES or INGEST_MAX_ITEMS, nested too deep, or a record over INGEST_MAX_MESSAGE_BYTES',
    415: 'Not JSON',
    429: 'Too many ingest requests in flight; retry',
    503: 'Kafka unavailable; retry',
  };
  return [
    {
      method: 'post',
      path: '/v1/logs',
      tag: 'ingest',
      summary: 'OTLP/HTTP logs receiver',
      body: otlpBody('Logs'),
      produces: ['application/x-protobuf', 'application/json'],
      responses: otlpResponses,
    },
    {
      method: 'post',
      path: '/v1/traces',
      tag: 'ingest',
      summary: 'OTLP/HTTP traces receiver',
      body: otlpBody('Trace'),
      produces: ['application/x-protobuf', 'application/json'],
      responses: otlpResponses,
    },
    {
      method: 'post',
      path: '/api/logs',
      tag: 'ingest',
      summary:
        'Batch of JSON logs: { resource: { service, host, env }, records: [{ timestamp, severity, message, trace_id, labels, … }] }',
      body: { contentTypes: ['application/json'], schema: batchSchema },
      responses: jsonResponses,
    },
    {
      method: 'post',
      path: '/api/ingest/log',
      tag: 'ingest',
      summary: 'One JSON log record in the StackLens log contract',
      body: { contentTypes: ['application/json'], schema: singleLogSchema },
      responses: jsonResponses,
    },
  ];
}
