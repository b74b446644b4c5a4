import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
interface Spec {
  paths: Record<string, Record<string, Operation>>;
}

/**
 * Validates answers against the gateway's own OpenAPI document (fetched once per gateway), so every
 * response an e2e test receives is checked by the spec, not by hand-written expectations.
 */
class OpenApiValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly routes: { method: string; pattern: RegExp; template: string }[] = [];

  constructor(spec: Spec) {
    addFormats(this.ajv);
    this.ajv.addSchema(spec, 'openapi');
    for (const [template, operations] of Object.entries(spec.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
      for (const method of Object.keys(operations)) this.routes.push({ method, pattern, template });
    }
  }

  /** Null when the answer matches the document; otherwise what is wrong. */
  check(method: string, url: string, status: number, contentType: string | null, body: unknown): string | null {
    const path = new URL(url).pathname;
    const route = this.routes.find((r) => r.method === method.toLowerCase() && r.pattern.test(path));
    // Unknown routes are answered 404 in the envelope; that shape is the ErrorEnvelope's.
    const pointer = route
      ? `#/paths/${escape(route.template)}/${route.method}/responses/${status}/content/application~1json/schema`
      : status === 404
        ? '#/components/schemas/ErrorEnvelope'
        : null;
    if (pointer === null) return `${method} ${path} is not in the OpenAPI document`;
    if (!contentType?.startsWith('application/json')) return null; // files (metrics, docs) are described, not validated
    const validate = this.ajv.getSchema(`openapi${pointer}`);
    if (!validate) return `${method} ${route?.template ?? path} documents no ${status} response`;
    if (validate(body)) return null;
    return `${method} ${path} → ${status}: ${this.ajv.errorsText(validate.errors)}`;
  }
}

const escape = (template: string) => template.replace(/~/g, '~0').replace(/\//g, '~1');
const validators = new Map<string, Promise<OpenApiValidator>>();

export async function checkAgainstSpec(url: string, method: string, status: number, contentType: string | null, body: unknown): Promise<string | null> {
  const origin = new URL(url).origin;
  if (!validators.has(origin)) {
    validators.set(
      origin,
      fetch(`${origin}/openapi.json`).then(async (r) => new OpenApiValidator((await r.json()) as Spec)),
    );
  }
  return (await validators.get(origin)!).check(method, url, status, contentType, body);
}
