import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { isTimeoutError } from 'mappersmith/gateway/timeout-error';
import TimeoutMiddleware from 'mappersmith/middleware/timeout';
import type { Response } from 'mappersmith';

export interface SchemaRegistryClientOptions {
  url: string;
  /** How long one request may take before it is abandoned (and retried). */
  requestTimeoutMs: number;
  /** Further attempts after a timeout or a 5xx answer (default 3). */
  retries?: number;
}

/**
 * A registry client whose every request is bounded and retried on timeouts and 5xx answers.
 *
 * The library's client sets no timeout, and retries only GETs: a registry that stops answering (a
 * KafkaSQL-backed Apicurio waits on its journal producer for up to its 120 s delivery timeout) held
 * the app's start, and a test, for as long as it liked. Every call this project makes is idempotent
 * under the Confluent API — registering a schema the subject already has returns its id, setting a
 * subject's compatibility to the same level changes nothing — so POSTs and PUTs are retried too.
 * 4xx answers (404, 409 incompatible, 422 invalid) are the registry's verdict and are not retried.
 *
 * @kafkajs/confluent-schema-registry 4.1 merges `retry` into its module-wide defaults, so these retry
 * rules also reach clients made with `new SchemaRegistry` later in the same process.
 */
export function createSchemaRegistryClient(options: SchemaRegistryClientOptions): SchemaRegistry {
  return new SchemaRegistry({
    host: options.url,
    middlewares: [TimeoutMiddleware(options.requestTimeoutMs)],
    retry: {
      retries: options.retries ?? 3,
      enableRetry: () => true,
      validateRetry: (response: Response) => {
        const error = response.error();
        return response.status() >= 500 || (error !== null && isTimeoutError(error));
      },
    },
  });
}
