import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../common/logger';
import type { ApiLimits, IngestMessage, IngestProducer, IngestTopics } from '../deps';
import {
  ApiError,
  BadPayloadError,
  DependencyUnavailableError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
} from '../errors';
import { parseWith } from '../http/params';
import type { ApiMetrics } from '../http/metrics';
import type { RouteDoc } from '../http/route-doc';
import { fromBatch, logBatchSchema, singleLogSchema, type JsonLogRecord } from '../ingest/json-logs';
import {
  RpcCode,
  encodeStatus,
  encodeSuccess,
  otlpContentType,
  validateOtlpRequest,
  type OtlpContentType,
  type OtlpSignal,
} from '../ingest/otlp-codec';
import { bodyParserError } from './errors';

export interface IngestRouteDeps {
  producer: IngestProducer;
  topics: IngestTopics;
  limits: ApiLimits;
  metrics: ApiMetrics;
  logger: Logger;
}

/** Produces with a deadline: a broker that is down fails the request (503, the client retries) instead of hanging it. */
async function produceOrFail(deps: IngestRouteDeps, topic: string, messages: IngestMessage[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no acknowledgement within ${deps.limits.produceTimeoutMs} ms`)),
      deps.limits.produceTimeoutMs,
    );
  });
  try {
    await Promise.race([deps.producer.produce(topic, messages), timeout]);
  } catch (error) {
    deps.logger.warn({ topic, err: (error as Error).message }, 'ingest produce failed');
    throw new DependencyUnavailableError('kafka', 'could not store the request; retry later', {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

const OTLP_STATUS: Record<number, number> = {
  400: RpcCode.INVALID_ARGUMENT,
  401: RpcCode.UNAUTHENTICATED,
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
    res.once('close', () => inflight--);
    next();
  };
  const rawBody = express.raw({ type: () => true, limit: deps.limits.maxOtlpBodyBytes, inflate: true });
  const jsonBody = express.json({ limit: deps.limits.maxJsonBodyBytes, strict: true, inflate: true });

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
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      validateOtlpRequest(signal, contentType, body);
      await produceOrFail(deps, topic, [{ value: body, headers: { 'content-type': contentType } }]);
      deps.metrics.ingested.labels(endpoint, 'accepted').inc();
      res.status(200).type(contentType).send(encodeSuccess(signal, contentType));
    };
    // OTLP clients expect google.rpc.Status bodies in the request's encoding, with OTLP's retry semantics.
    const otlpErrors = (error: unknown, req: Request, res: Response, next: NextFunction) => {
      const apiError = error instanceof ApiError ? error : bodyParserError(error);
      if (apiError === undefined) return next(error);
      const contentType = otlpContentType(req.get('content-type')) ?? 'application/json';
      deps.metrics.ingested.labels(endpoint, apiError.status === 503 ? 'unavailable' : 'rejected').inc();
      res
        .status(apiError.status)
        .set(apiError.headers)
        .type(contentType)
        .send(encodeStatus(contentType, OTLP_STATUS[apiError.status] ?? RpcCode.INTERNAL, apiError.message));
    };
    app.post(endpoint, admit, checkType, rawBody, handle);
    app.use(endpoint, otlpErrors);
  };
  otlp('logs');
  otlp('traces');

  const produceJsonLogs = async (endpoint: string, records: JsonLogRecord[], res: Response) => {
    const messages = records.map((r) => ({
      key: r.trace_id ?? r.service,
      value: JSON.stringify(r),
      headers: { 'content-type': 'application/json' },
    }));
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

  app.post('/api/logs', admit, requireJson, jsonBody, async (req, res) => {
    if (req.body === undefined) throw new BadPayloadError('body is empty');
    await produceJsonLogs('/api/logs', fromBatch(parseWith(batchSchema, req.body)), res);
  });
  app.post('/api/ingest/log', admit, requireJson, jsonBody, async (req, res) => {
    if (req.body === undefined) throw new BadPayloadError('body is empty');
    await produceJsonLogs('/api/ingest/log', [parseWith(singleLogSchema, req.body)], res);
  });

  const otlpResponses = {
    200: 'Export*ServiceResponse, in the request encoding',
    400: 'google.rpc.Status: the payload does not decode',
    401: 'Missing or invalid credentials',
    413: 'Body too large',
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
    413: 'Body too large',
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
