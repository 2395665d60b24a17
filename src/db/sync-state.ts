import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from './sql.js';

/**
 * The small key/value rows of `sync_state` (the events cursor, the sandbox's ids), in plain statements
 * that join the caller's transaction. Not through the ORM's query builder: `sync` uses nothing else of
 * it, and its first use costs a one-shot command the compiling of the builder's code.
 */
export async function readSyncState(em: EntityManager, key: string): Promise<string | null> {
  const rows = await queryRows<{ value: string }>(em, 'select "value" from "sync_state" where "key" = ?', [key]);
  return rows[0]?.value ?? null;
}

export async function writeSyncState(em: EntityManager, key: string, value: string): Promise<void> {
  await queryRows(
    em,
    'insert into "sync_state" ("key", "value", "updated_at") values (?, ?, ?) on conflict ("key") do update set "value" = excluded."value", "updated_at" = excluded."updated_at"',
    [key, value, new Date().toISOString()],
  );
}
