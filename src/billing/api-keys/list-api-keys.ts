/**
 * `Customer.apiKeys` and the CLI's `keys list`: every key of the customers asked for (revoked ones
 * included), oldest first. Built for DataLoader: any number of customers in one statement.
 */
import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from '../../db/sql.js';
import { API_KEY_COLUMNS, toApiKeyView, type ApiKeyRow, type ApiKeyView } from './key-rows.js';

export async function apiKeysOfCustomers(em: EntityManager, customerIds: readonly string[]): Promise<ApiKeyView[][]> {
  const rows = await queryRows<ApiKeyRow>(
    em,
    `select ${API_KEY_COLUMNS} from api_keys where customer_id in (select jsonb_array_elements_text(?::jsonb)) order by created_at, id`,
    [JSON.stringify([...new Set(customerIds)])],
  );
  const by = new Map<string, ApiKeyView[]>();
  for (const r of rows) {
    const list = by.get(r.customer_id) ?? [];
    list.push(toApiKeyView(r));
    by.set(r.customer_id, list);
  }
  return customerIds.map((id) => by.get(id) ?? []);
}

/** Every key (admin tooling), oldest first, at most `limit`. */
export async function listAllApiKeys(em: EntityManager, limit = 1000): Promise<ApiKeyView[]> {
  const rows = await queryRows<ApiKeyRow>(em, `select ${API_KEY_COLUMNS} from api_keys order by created_at, id limit ?`, [limit]);
  return rows.map(toApiKeyView);
}
