import type { MigrationSet } from '@keyledger/event-store';
import * as keysReadModel from './migrations/2026_11_22_0001_keys_read_model';

/** The key-registry's own tables, with their own migration history. */
export const keysMigrations: MigrationSet = {
  name: 'keys',
  migrations: { '2026_11_22_0001_keys_read_model': keysReadModel },
};
