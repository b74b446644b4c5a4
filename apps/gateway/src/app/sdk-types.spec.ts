import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sdkTypesSource } from '@keyledger/gateway-http';
import { OPENAPI_DOCUMENT } from './api-docs';

const GENERATED = join(__dirname, '../../../../libs/sdk/src/lib/api.generated.ts');

/**
 * The SDK's types of every operation are generated from the document this gateway serves; the SDK's
 * own types are checked against them when the SDK's tests compile. `npm run sdk:types` rewrites the
 * file (UPDATE_SDK_TYPES=1); without it, a difference fails here.
 */
describe('SDK types', () => {
  it('are generated from the current OpenAPI document', () => {
    const source = sdkTypesSource(OPENAPI_DOCUMENT);
    if (process.env['UPDATE_SDK_TYPES'] === '1') writeFileSync(GENERATED, source);
    expect({ upToDate: readFileSync(GENERATED, 'utf8') === source, fix: 'npm run sdk:types' }).toEqual({ upToDate: true, fix: 'npm run sdk:types' });
  });

  it('describe each operation’s data, body and query', () => {
    const source = sdkTypesSource(OPENAPI_DOCUMENT);
    expect(source).toContain('  postV1Spends: {\n    body: {\n      agent_id?: string;\n      amount: number;\n      currency: string;');
    expect(source).toContain('  getV1Spends: {\n    query: {\n      limit?: number;');
    expect(source).toContain('      status: "authorized" | "captured" | "released" | "refunded" | "expired";');
    expect(source).toContain('      merchant: string | null;');
  });
});
