/**
 * `rollApiKey`: a new secret for the same key (same id, name, counters); the old secret stops at once
 * on this replica and within the verifier's cache time on the others. A repeated idempotencyKey
 * answers CONFLICT (the new secret is not shown twice). A revoked key cannot be rolled.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Authentication } from '../../auth/guard.js';
import { AppError, badUserInput } from '../../errors.js';
import { queryRows } from '../../db/sql.js';
import type { ApiKeySecretView } from './create-api-key.js';
import { API_KEY_COLUMNS, ownedKey, toApiKeyView, type ApiKeyRow } from './key-rows.js';
import { checkIdempotencyKey } from './rules.js';
import { newSecret } from './secrets.js';

export async function rollApiKey(em: EntityManager, sandbox: boolean, auth: Authentication, id: string, idempotencyKey?: string | null): Promise<ApiKeySecretView> {
  const rollKey = checkIdempotencyKey(idempotencyKey);
  const key = await ownedKey(em, auth, id);
  if (key.revoked_at) throw badUserInput('id', 'This API key is revoked; create a new one');
  const { secret, hash, prefix } = newSecret(sandbox);
  const rows = await queryRows<ApiKeyRow>(
    em,
    `update api_keys set hash = ?, prefix = ?, rolled_at = now(), roll_idempotency_key = ?
     where id = ? and revoked_at is null and (?::text is null or roll_idempotency_key is distinct from ?::text) returning ${API_KEY_COLUMNS}`,
    [hash, prefix, rollKey, id, rollKey, rollKey],
  );
  if (rows[0]) return { apiKey: toApiKeyView(rows[0]), secret };
  if (rollKey) throw new AppError('CONFLICT', 'This idempotencyKey already rolled this API key; the new secret is not shown again', { apiKeyId: id });
  throw badUserInput('id', 'This API key is revoked; create a new one');
}
