/** `revokeApiKey`: ends a key for good (idempotent: a second revoke keeps the first `revokedAt`). The key stays listed. */
import type { EntityManager } from '@mikro-orm/core';
import type { Authentication } from '../../auth/guard.js';
import { queryRows } from '../../db/sql.js';
import { API_KEY_COLUMNS, ownedKey, toApiKeyView, type ApiKeyRow, type ApiKeyView } from './key-rows.js';

export async function revokeApiKey(em: EntityManager, auth: Authentication, id: string): Promise<ApiKeyView> {
  await ownedKey(em, auth, id);
  const rows = await queryRows<ApiKeyRow>(em, `update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ? returning ${API_KEY_COLUMNS}`, [id]);
  return toApiKeyView(rows[0]!);
}
