import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { GatewayCoreModule } from '@keyledger/gateway-http';
import { OPENAPI_DOCUMENT, ROUTES } from './api-docs';
import { AppModule } from './app.module';

/** Every route Nest serves, read from the controllers' decorators: `GET /v1/api-keys/{id}`. */
function servedRoutes(): string[] {
  const controllers = [AppModule, GatewayCoreModule].flatMap((m) => (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, m) ?? []) as (new (...a: never[]) => unknown)[]);
  const routes: string[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = controller.prototype[name];
      const path = Reflect.getMetadata(PATH_METADATA, handler);
      if (name === 'constructor' || path === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
      const full = `/${[base, path].filter((p) => p && p !== '/').join('/')}`.replace(/:(\w+)/g, '{$1}');
      routes.push(`${method} ${full}`);
    }
  }
  return routes.sort();
}

describe('OpenAPI document', () => {
  it('describes exactly the routes the gateway serves', () => {
    const documented = ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
    expect(documented).toEqual(servedRoutes());
  });

  it('gives every route its error responses in the envelope', () => {
    const whoami = OPENAPI_DOCUMENT.paths['/v1/whoami']['get'] as { responses: Record<string, unknown> };
    expect(Object.keys(whoami.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '429', '500']));
    const createKey = OPENAPI_DOCUMENT.paths['/v1/api-keys']['post'] as { responses: Record<string, { description: string }> };
    expect(createKey.responses['403'].description).toContain('PLAN_LIMIT_REACHED');
    expect(createKey.responses['409'].description).toMatch(/CONFLICT.*IDEMPOTENCY_IN_PROGRESS|IDEMPOTENCY_IN_PROGRESS.*CONFLICT/);
    expect(createKey.responses['422'].description).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('passes @redocly/cli lint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyledger-openapi-'));
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(OPENAPI_DOCUMENT, null, 2));
    const redocly = join(__dirname, '../../../../node_modules/.bin/redocly');
    const result = await promisify(execFile)(redocly, ['lint', file, '--format', 'stylish'], { cwd: dir }).catch((e: { stdout: string; stderr: string; code: number }) => e);
    expect({ exit: (result as { code?: number }).code ?? 0, output: `${result.stdout}${result.stderr}`.slice(-3000) }).toMatchObject({ exit: 0 });
  }, 60_000);
});
