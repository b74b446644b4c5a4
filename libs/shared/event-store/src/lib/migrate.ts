import { Kysely, Migration, MigrationProvider, MigrationResultSet, Migrator } from 'kysely';
import * as events from './migrations/2026_11_22_0001_events';
import * as idempotencyIndex from './migrations/2026_11_22_0002_idempotency_index';
import * as eventsOrgLogOrder from './migrations/2026_11_22_0003_events_org_log_order';
import * as eventsStrictlyAppendOnly from './migrations/2026_11_22_0004_events_strictly_append_only';

/**
 * A named set of migrations owned by one part of the system, each set with its own history table,
 * so services deploy and migrate independently. Migrations are imported, not read from disk, so
 * they run the same from `ts` sources and from bundled output.
 */
export interface MigrationSet {
  name: string;
  migrations: Record<string, Migration>;
}

export const eventStoreMigrations: MigrationSet = {
  name: 'event_store',
  migrations: {
    '2026_11_22_0001_events': events,
    '2026_11_22_0002_idempotency_index': idempotencyIndex,
    '2026_11_22_0003_events_org_log_order': eventsOrgLogOrder,
    '2026_11_22_0004_events_strictly_append_only': eventsStrictlyAppendOnly,
  },
};

/** The set as it was before `migration` (a name in it): its migrations named earlier, for tests of an upgrade. */
export function migrationsBefore(set: MigrationSet, migration: string): MigrationSet {
  if (!(migration in set.migrations)) throw new Error(`${set.name} has no migration ${migration}`);
  return { name: set.name, migrations: Object.fromEntries(Object.entries(set.migrations).filter(([name]) => name < migration)) };
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

export class MigrationError extends Error {}

/** Runs every pending migration of each set, in order; returns the names it applied. */
export async function migrateToLatest(db: Kysely<any>, sets: readonly MigrationSet[]): Promise<string[]> {
  const applied: string[] = [];
  for (const set of sets) {
    const migrator = new Migrator({
      db,
      provider: new StaticProvider(set.migrations),
      migrationTableName: `kysely_migration_${set.name}`,
      migrationLockTableName: `kysely_migration_lock_${set.name}`,
    });
    const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
    for (const r of results ?? []) {
      if (r.status === 'Success') applied.push(`${set.name}/${r.migrationName}`);
    }
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new MigrationError(`migration ${set.name}/${failed} failed: ${(error as Error).message ?? error}`);
    }
  }
  return applied;
}
