import type { z } from 'zod';

/** Description of one route: the same schemas validate requests and generate /openapi.json. */
export interface RouteDoc {
  method: 'get' | 'post';
  /** Express path, e.g. /api/traces/:traceId. */
  path: string;
  summary: string;
  tag: 'query' | 'live' | 'ingest' | 'operations';
  query?: z.ZodType;
  params?: z.ZodType;
  /** Accepts `attr.<name>=<value>` custom attribute filters. */
  attributeFilters?: boolean;
  body?: { contentTypes: string[]; schema?: z.ZodType; description?: string };
  /** Content type of a successful response (default application/json). */
  produces?: string[];
  responses: Record<number, string>;
  /** False for the routes that stay open when auth is on (/health). */
  authenticated?: boolean;
}
