import { z } from 'zod';
import { ATTRIBUTE_PARAM_PREFIX } from './params';
import type { RouteDoc } from './route-doc';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

function parameters(schema: z.ZodType | undefined, location: 'query' | 'path'): JsonSchema[] {
  if (schema === undefined) return [];
  const object = jsonSchema(schema);
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      description,
      schema: propertySchema,
    };
  });
}

/** OpenAPI 3.1 document generated from the routes' own validation schemas. */
export function buildOpenApi(routes: readonly RouteDoc[], auth: 'none' | 'basic' | 'token'): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params = [...parameters(route.params, 'path'), ...parameters(route.query, 'query')];
    if (route.attributeFilters) {
      params.push({
        name: `${ATTRIBUTE_PARAM_PREFIX}{name}`,
        in: 'query',
        required: false,
        description: `Custom attribute filter, repeatable with different names: ${ATTRIBUTE_PARAM_PREFIX}circuit_id=CIRCUIT-123 matches the log attribute (or, when the log lacks it, the resource attribute) circuit_id`,
        schema: { type: 'string' },
      });
    }
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: [route.tag],
      parameters: params,
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, description]) => {
          const types = status.startsWith('2')
            ? (route.produces ?? ['application/json'])
            : ['application/json'];
          return [
            status,
            {
              description,
              content: status === '101' ? undefined : Object.fromEntries(types.map((t) => [t, {}])),
            },
          ];
        }),
      ),
    };
    if (route.body) {
      const schema = route.body.schema ? jsonSchema(route.body.schema) : { type: 'string', format: 'binary' };
      operation.requestBody = {
        required: true,
        description: route.body.description,
        content: Object.fromEntries(route.body.contentTypes.map((t) => [t, { schema }])),
      };
    }
    if (route.authenticated === false) operation.security = [];
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation };
  }
  const securitySchemes =
    auth === 'basic'
      ? { basic: { type: 'http', scheme: 'basic' } }
      : auth === 'token'
        ? { token: { type: 'http', scheme: 'bearer' } }
        : {};
  return {
    openapi: '3.1.0',
    info: {
      title: 'StackLens API',
      version: '1',
      description:
        'Queries, live streams and ingest over the StackLens pipeline. Errors are { error, detail }.',
    },
    paths,
    components: { securitySchemes },
    security: auth === 'none' ? [] : [{ [auth]: [] }],
  };
}
