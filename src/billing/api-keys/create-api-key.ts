/**
 * `createApiKey`: a new key for a customer, its secret returned once. A repeated idempotencyKey (per
 * customer) answers CONFLICT with `extensions.apiKeyId` and creates nothing: the secret is never
 * shown twice, and a retry must not mint a second key.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Authentication } from '../../auth/guard.js';
import { AppError } from '../../errors.js';
import { queryRows } from '../../db/sql.js';
import { API_KEY_COLUMNS, keyOwnerOf, toApiKeyView, type ApiKeyRow, type ApiKeyView } from './key-rows.js';
import { checkExpiry, checkIdempotencyKey, checkKeyName } from './rules.js';
import { newKeyId, newSecret } from './secrets.js';

export interface CreateApiKeyInput {
  name: string;
  customerId?: string | null;
  expiresAt?: Date | null;
  idempotencyKey?: string | null;
}

export interface ApiKeySecretView {
  apiKey: ApiKeyView;
  secret: string;
}

export async function createApiKey(em: EntityManager, sandbox: boolean, auth: Authentication, input: CreateApiKeyInput): Promise<ApiKeySecretView> {
  const name = checkKeyName(input.name);
  const expiresAt = checkExpiry(input.expiresAt);
  const idempotencyKey = checkIdempotencyKey(input.idempotencyKey);
  const owner = await keyOwnerOf(em, auth, input.customerId);
  const { secret, hash, prefix } = newSecret(sandbox);
  const rows = await queryRows<ApiKeyRow>(
    em,
    `insert into api_keys (id, customer_id, name, prefix, hash, expires_at, idempotency_key) values (?, ?, ?, ?, ?, ?, ?)
     on conflict (customer_id, idempotency_key) do nothing returning ${API_KEY_COLUMNS}`,
    [newKeyId(), owner.id, name, prefix, hash, expiresAt, idempotencyKey],
  );
  if (rows[0]) return { apiKey: toApiKeyView(rows[0]), secret };
  const held = await queryRows<{ id: string }>(em, `select id from api_keys where customer_id = ? and idempotency_key = ?`, [owner.id, idempotencyKey]);
  throw new AppError('CONFLICT', 'This idempotencyKey already created an API key; its secret is not shown again (roll the key for a new one)', { apiKeyId: held[0]?.id ?? null });
}
