import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  // The chainer fills hash/prev_hash of every event once, shortly after it is appended. With full
  // pages that update writes the new row version on another page and a new entry into each of the
  // five indexes of events; with half of each new page left free, the new version fits on the
  // same page (a HOT update: no index entry at all, and the old version is pruned in place).
  // Pages already written keep their layout; only new ones get the room.
  await sql`alter table events set (fillfactor = 50)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table events reset (fillfactor)`.execute(db);
}
