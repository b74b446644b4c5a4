import { z } from 'zod';
import { ERROR_STATUS, ErrorCode, Scope } from '@keyledger/contracts';
import { ErrorEnvelopeSchema } from './resources';

/** One route of the public API, as the OpenAPI document describes it. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path, parameters in braces: `/v1/api-keys/{id}`. */
  path: string;
  summary: string;
  tag: string;
  auth: 'key' | 'key-or-none' | 'operator' | 'none';
  scope?: Scope;
  body?: z.ZodType;
  query?: z.ZodObject;
  /** Success status and the schema of `data` in the envelope (`raw`: a non-envelope answer). */
  success: { status: number; data?: z.ZodType; raw?: { contentType: string; description: string } };
  /** Business errors besides those every route of its kind can answer. */
  errors?: ErrorCode[];
}

type JsonSchema = Record<string, unknown>;

export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function envelope(data: z.ZodType | undefined): JsonSchema {
  return {
    type: 'object',
    required: ['success', 'data', 'request_id'],
    properties: {
      success: { const: true },
      data: data ? jsonSchema(data) : {},
      request_id: { type: 'string', pattern: '^req_' },
    },
  };
}

/** The errors a route can answer: its own, and those its authentication and inputs imply. */
function errorCodes(route: RouteDoc): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors ?? []);
  codes.add('INTERNAL_ERROR');
  codes.add('RATE_LIMITED');
  // Any route: a write's service may be down; a read's database may be, or its rate-limit class fail closed.
  codes.add('SERVICE_UNAVAILABLE');
  if (route.auth !== 'none') {
    codes.add('UNAUTHORIZED');
  }
  if (route.auth === 'key' || route.auth === 'key-or-none') {
    for (const c of ['KEY_EXPIRED', 'KEY_REVOKED', 'SIGNATURE_INVALID', 'PERMISSION_DENIED', 'AGENT_PAUSED'] as const) codes.add(c);
  }
  if (route.body || route.query || route.path.includes('{')) codes.add('VALIDATION_ERROR');
  if (route.body) {
    codes.add('PAYLOAD_TOO_LARGE');
    if (route.method === 'post') {
      codes.add('IDEMPOTENCY_IN_PROGRESS');
      codes.add('IDEMPOTENCY_KEY_REUSED');
    }
  }
  if (route.path.includes('{')) codes.add('NOT_FOUND');
  return [...codes];
}

/** Builds the OpenAPI 3.1 document from the route table: every route, schema and error response. */
export function buildOpenApiDocument(routes: readonly RouteDoc[], info: { title: string; version: string; description: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const name of route.path.match(/\{(\w+)\}/g)?.map((p) => p.slice(1, -1)) ?? []) {
      parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
    if (route.query) {
      for (const [name, schema] of Object.entries(route.query.shape)) {
        parameters.push({ name, in: 'query', required: !(schema as z.ZodType).safeParse(undefined).success, schema: jsonSchema(schema as z.ZodType, 'input') });
      }
    }
    if (route.method === 'post') {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'Makes the request safe to retry for 24 hours (API.md, Idempotency)',
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      });
    }
    const responses: Record<string, unknown> = {};
    responses[String(route.success.status)] = route.success.raw
      ? { description: route.success.raw.description, content: { [route.success.raw.contentType]: { schema: { type: 'string' } } } }
      : { description: route.summary, content: { 'application/json': { schema: envelope(route.success.data) } } };
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of errorCodes(route)) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
    for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
      responses[String(status)] = {
        description: codes.join(', '),
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
      };
    }
    const security =
      route.auth === 'none'
        ? []
        : route.auth === 'operator'
          ? [{ OperatorToken: [] }]
          : [{ ApiKey: [] }, { ApiKeyBearer: [] }, ...(route.auth === 'key-or-none' ? [{}] : [])];
    paths[route.path] ??= {};
    paths[route.path][route.method] = {
      operationId: `${route.method}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: route.summary,
      tags: [route.tag],
      ...(route.scope ? { description: `Needs the \`${route.scope}\` scope.` } : {}),
      security,
      ...(parameters.length ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { ...info, license: { name: 'MIT', identifier: 'MIT' } },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        ApiKeyBearer: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token' },
        OperatorToken: { type: 'http', scheme: 'bearer', description: 'The deployment operator token' },
      },
      schemas: { ErrorEnvelope: jsonSchema(ErrorEnvelopeSchema) },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
