import type { MigrationSet } from '@keyledger/event-store';
import * as keysReadModel from './migrations/2026_11_22_0001_keys_read_model';
import * as orgRateLimitOverrides from './migrations/2026_11_22_0002_org_rate_limit_overrides';
import * as keySigningSecrets from './migrations/2026_11_22_0003_key_signing_secrets';

/** The key-registry's own tables, with their own migration history. */
export const keysMigrations: MigrationSet = {
  name: 'keys',
  migrations: {
    '2026_11_22_0001_keys_read_model': keysReadModel,
    '2026_11_22_0002_org_rate_limit_overrides': orgRateLimitOverrides,
    '2026_11_22_0003_key_signing_secrets': keySigningSecrets,
  },
};
