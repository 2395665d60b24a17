import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121223846_initial } from './Migration20261121223846_initial.js';
import { Migration20261122012000_usage_flusher } from './Migration20261122012000_usage_flusher.js';
import { Migration20261122013000_dunning } from './Migration20261122013000_dunning.js';
import { Migration20261122014000_mrr } from './Migration20261122014000_mrr.js';
import { Migration20261206100000_hardening } from './Migration20261206100000_hardening.js';
import { Migration20261206200000_api_keys } from './Migration20261206200000_api_keys.js';
import { Migration20261206213000_api_key_changes } from './Migration20261206213000_api_key_changes.js';
import { Migration20261206300000_revenue } from './Migration20261206300000_revenue.js';
import { Migration20261206401500_list_pages } from './Migration20261206401500_list_pages.js';
import { Migration20261207020000_inbox_claims } from './Migration20261207020000_inbox_claims.js';
import { Migration20261207021000_revenue_points_per_statement } from './Migration20261207021000_revenue_points_per_statement.js';
import { Migration20261207022000_lz4_copies } from './Migration20261207022000_lz4_copies.js';
import { Migration20261207040000_usage_fillfactor } from './Migration20261207040000_usage_fillfactor.js';
import { Migration20261207160000_revenue_refresh_per_batch } from './Migration20261207160000_revenue_refresh_per_batch.js';

/**
 * Every migration, in order, registered explicitly (no folder scan) so the names recorded in
 * `mikro_orm_migrations` are the same whether running from src/ or dist/. Append new ones here.
 */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261121223846_initial', class: Migration20261121223846_initial },
  { name: 'Migration20261122012000_usage_flusher', class: Migration20261122012000_usage_flusher },
  { name: 'Migration20261122013000_dunning', class: Migration20261122013000_dunning },
  { name: 'Migration20261122014000_mrr', class: Migration20261122014000_mrr },
  { name: 'Migration20261206100000_hardening', class: Migration20261206100000_hardening },
  { name: 'Migration20261206200000_api_keys', class: Migration20261206200000_api_keys },
  { name: 'Migration20261206213000_api_key_changes', class: Migration20261206213000_api_key_changes },
  { name: 'Migration20261206300000_revenue', class: Migration20261206300000_revenue },
  { name: 'Migration20261206401500_list_pages', class: Migration20261206401500_list_pages },
  { name: 'Migration20261207020000_inbox_claims', class: Migration20261207020000_inbox_claims },
  { name: 'Migration20261207021000_revenue_points_per_statement', class: Migration20261207021000_revenue_points_per_statement },
  { name: 'Migration20261207022000_lz4_copies', class: Migration20261207022000_lz4_copies },
  { name: 'Migration20261207040000_usage_fillfactor', class: Migration20261207040000_usage_fillfactor },
  { name: 'Migration20261207160000_revenue_refresh_per_batch', class: Migration20261207160000_revenue_refresh_per_batch },
];
