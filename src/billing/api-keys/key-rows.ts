/**
 * API key rows as services return them, and the customer a key-management call acts on. Plain SQL:
 * these are small reads on the request path; the hash never leaves this module's callers' SQL.
 */
import type { EntityManager } from '@mikro-orm/core';
import { assertCustomerInScope, requireViewer, resolveCustomerScope, type Authentication } from '../../auth/guard.js';
import { badUserInput, forbidden, notFound } from '../../errors.js';
import { queryRows } from '../../db/sql.js';

export interface ApiKeyView {
  id: string;
  customerId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** Verifications by outcome code. */
  verifications: Record<string, number>;
}

export interface ApiKeyRow {
  id: string;
  customer_id: string;
  name: string;
  prefix: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  verifications: Record<string, number> | string | null;
}

export const API_KEY_COLUMNS = 'id, customer_id, name, prefix, created_at, last_used_at, expires_at, revoked_at, verifications';

const date = (v: Date | string | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));

export function toApiKeyView(r: ApiKeyRow): ApiKeyView {
  const v = typeof r.verifications === 'string' ? (JSON.parse(r.verifications) as Record<string, number>) : (r.verifications ?? {});
  return {
    id: r.id,
    customerId: r.customer_id,
    name: r.name,
    prefix: r.prefix,
    createdAt: date(r.created_at)!,
    lastUsedAt: date(r.last_used_at),
    expiresAt: date(r.expires_at),
    revokedAt: date(r.revoked_at),
    verifications: Object.fromEntries(Object.entries(v).map(([k, n]) => [k, Number(n)])),
  };
}

export interface KeyOwner {
  id: string;
  externalId: string | null;
}

/**
 * The customer a key-management call is for: a customer token its own (customerId omitted or its
 * own), an admin the one it names (required). No billing customer yet → BAD_USER_INPUT.
 */
export async function keyOwnerOf(em: EntityManager, auth: Authentication, customerId: string | null | undefined): Promise<KeyOwner> {
  const viewer = requireViewer(auth);
  if (viewer.role === 'admin' && !customerId) throw badUserInput('customerId', 'Admins must name the customer the key is for: customerId (cus_… or externalId)');
  const scope = resolveCustomerScope(auth, customerId || null);
  const ref = scope.ref;
  const rows = await queryRows<{ id: string; external_id: string | null }>(
    em,
    `select id, external_id from customers where deleted = false and ${ref.kind === 'stripeId' ? 'id' : 'external_id'} = ? limit 1`,
    [ref.kind === 'stripeId' ? ref.id : ref.externalId],
  );
  const found = assertCustomerInScope(scope, rows[0] ? { id: rows[0].id, externalId: rows[0].external_id } : null);
  if (found) return found;
  if (viewer.role === 'admin') throw notFound('Customer');
  throw badUserInput('customerId', 'This caller has no billing customer yet: subscribe before creating API keys');
}

/**
 * A key the caller may manage: an admin any key (unknown → NOT_FOUND), a customer only its own
 * (another's, or an unknown id, → FORBIDDEN, so ids cannot be probed).
 */
export async function ownedKey(em: EntityManager, auth: Authentication, id: string): Promise<ApiKeyRow & { external_id: string | null }> {
  const viewer = requireViewer(auth);
  const rows = await queryRows<ApiKeyRow & { external_id: string | null }>(
    em,
    `select ${API_KEY_COLUMNS.split(', ').map((c) => `k.${c}`).join(', ')}, c.external_id from api_keys k left join customers c on c.id = k.customer_id where k.id = ?`,
    [id],
  );
  const row = rows[0];
  if (viewer.role === 'admin') {
    if (!row) throw notFound('API key');
    return row;
  }
  if (!row || row.external_id !== viewer.sub) throw forbidden("Not allowed to manage another customer's API keys");
  return row;
}
