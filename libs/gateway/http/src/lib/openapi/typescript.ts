/**
 * TypeScript types from the OpenAPI document: for every operation, the `data` of its success
 * envelope, its request `body` and its `query`. The SDK's hand-written types are checked against
 * them (libs/sdk/src/lib/types.spec.ts), so the SDK cannot drift from the document the gateway serves.
 * Covers the JSON Schema the document is made of (zod's output: objects, records, arrays, enums,
 * consts, nullable unions); anything else becomes `unknown`, which a check against a precise SDK
 * type then reports.
 */
type Schema = { [keyword: string]: unknown };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function union(members: string[]): string {
  const unique = [...new Set(members)];
  return unique.length === 0 ? 'never' : unique.join(' | ');
}

export function typeOfSchema(schema: unknown, indent = ''): string {
  if (schema === true || schema === undefined) return 'unknown';
  if (schema === false) return 'never';
  const s = schema as Schema;
  if ('const' in s) return JSON.stringify(s['const']);
  if (Array.isArray(s['enum'])) return union(s['enum'].map((v) => JSON.stringify(v)));
  const alternatives = (s['anyOf'] ?? s['oneOf']) as unknown[] | undefined;
  if (Array.isArray(alternatives)) return union(alternatives.map((a) => typeOfSchema(a, indent)));
  if (Array.isArray(s['type'])) return union(s['type'].map((t) => typeOfSchema({ ...s, type: t }, indent)));
  switch (s['type']) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const item = typeOfSchema(s['items'], indent);
      return /[|&\s]/.test(item) && !item.startsWith('{') ? `(${item})[]` : `${item}[]`;
    }
    case 'object':
      return objectType(s, indent);
    default:
      return 'unknown';
  }
}

function objectType(s: Schema, indent: string): string {
  const properties = (s['properties'] ?? {}) as Record<string, unknown>;
  const required = new Set((s['required'] ?? []) as string[]);
  const inner = `${indent}  `;
  const members = Object.entries(properties).map(([name, property]) => {
    const key = IDENTIFIER.test(name) ? name : JSON.stringify(name);
    return `${inner}${key}${required.has(name) ? '' : '?'}: ${typeOfSchema(property, inner)};`;
  });
  const extra = s['additionalProperties'];
  if (extra !== undefined && extra !== false) members.push(`${inner}[key: string]: ${typeOfSchema(extra === true ? {} : extra, inner)};`);
  if (members.length === 0) return extra === false ? 'Record<string, never>' : '{ [key: string]: unknown }';
  return `{\n${members.join('\n')}\n${indent}}`;
}

interface OpenApiOperation {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

/** The source of `libs/sdk/src/lib/api.generated.ts` for an OpenAPI document. */
export function sdkTypesSource(document: { paths: Record<string, Record<string, unknown>> }): string {
  const operations: string[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(methods)) {
      const op = raw as OpenApiOperation;
      const members: string[] = [];
      const query = (op.parameters ?? []).filter((p) => p.in === 'query');
      if (query.length > 0) {
        const schema = { type: 'object', properties: Object.fromEntries(query.map((p) => [p.name, p.schema])), required: query.filter((p) => p.required).map((p) => p.name) };
        members.push(`    query: ${typeOfSchema(schema, '    ')};`);
      }
      const body = op.requestBody?.content['application/json']?.schema;
      if (body !== undefined) members.push(`    body: ${typeOfSchema(body, '    ')};`);
      const success = Object.entries(op.responses).find(([status]) => status.startsWith('2'))?.[1];
      const envelope = success?.content?.['application/json']?.schema;
      const data = (envelope?.['properties'] as Record<string, unknown> | undefined)?.['data'];
      if (data !== undefined) members.push(`    data: ${typeOfSchema(data, '    ')};`);
      operations.push(`  /** ${method.toUpperCase()} ${path} */\n  ${op.operationId}: {\n${members.join('\n')}${members.length ? '\n' : ''}  };`);
    }
  }
  return [
    '// Generated from the gateway’s OpenAPI document (GET /openapi.json) by `npm run sdk:types`. Do not edit:',
    '// apps/gateway/src/app/sdk-types.spec.ts fails when this file and the document differ.',
    '/* eslint-disable */',
    '',
    '/** Every operation of the API: its query, request body and the `data` of its success envelope. */',
    'export interface ApiOperations {',
    operations.join('\n'),
    '}',
    '',
  ].join('\n');
}
