import { z } from 'zod';
import { buildOpenApi } from './openapi';
import { limitParam, traceParamsSchema } from './params';

describe('buildOpenApi', () => {
  const doc = buildOpenApi(
    [
      {
        method: 'get',
        path: '/api/things/:traceId',
        tag: 'query',
        summary: 'Things',
        params: traceParamsSchema,
        query: z.strictObject({
          limit: limitParam(10, 50),
          kind: z.enum(['a', 'b']).describe('Kind').optional(),
        }),
        attributeFilters: true,
        responses: { 200: 'ok', 400: 'bad' },
      },
      {
        method: 'get',
        path: '/health',
        tag: 'operations',
        summary: 'Liveness',
        authenticated: false,
        responses: { 200: 'ok' },
      },
      {
        method: 'post',
        path: '/in',
        tag: 'ingest',
        summary: 'In',
        body: { contentTypes: ['application/x-protobuf'] },
        responses: { 200: 'ok' },
      },
    ],
    'token',
  ) as {
    paths: Record<
      string,
      Record<string, { parameters: Record<string, unknown>[]; security?: unknown; requestBody?: unknown }>
    >;
    security: unknown;
  };

  it('documents path and query parameters from the validation schemas', () => {
    const op = doc.paths['/api/things/{traceId}']!.get!;
    expect(op.parameters).toEqual([
      expect.objectContaining({
        name: 'traceId',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ type: 'string' }),
      }),
      expect.objectContaining({
        name: 'limit',
        in: 'query',
        required: false,
        description: 'Maximum number of items (1-50, default 10)',
      }),
      expect.objectContaining({
        name: 'kind',
        in: 'query',
        description: 'Kind',
        schema: { type: 'string', enum: ['a', 'b'] },
      }),
      expect.objectContaining({ name: 'attr.{name}', in: 'query' }),
    ]);
  });

  it('marks the open routes and the security scheme', () => {
    expect(doc.security).toEqual([{ token: [] }]);
    expect(doc.paths['/health']!.get!.security).toEqual([]);
    expect(doc.paths['/in']!.post!.requestBody).toEqual({
      required: true,
      content: { 'application/x-protobuf': { schema: { type: 'string', format: 'binary' } } },
    });
  });
});
