import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for keyset pages in list order `(created_at, id)` (or `received_at` for parked webhook
 * events): the admin lists of all subscriptions and invoices, a customer's subscriptions and API
 * keys. Each page is then one index range scan, however deep it is.
 */
export class Migration20261206401500_list_pages extends Migration {

  override name = 'Migration20261206401500_list_pages';

  override up(): void | Promise<void> {
    this.addSql(`create index "subscriptions_created_at_id_index" on "subscriptions" ("created_at", "id");`);
    this.addSql(`create index "subscriptions_customer_id_created_at_id_index" on "subscriptions" ("customer_id", "created_at", "id");`);
    this.addSql(`create index "invoices_created_at_id_index" on "invoices" ("created_at", "id");`);
    this.addSql(`create index "api_keys_customer_id_created_at_id_index" on "api_keys" ("customer_id", "created_at", "id");`);
    this.addSql(`create index "webhook_events_parked_received_at_id_index" on "webhook_events" ("received_at", "id") where status = 'parked';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "subscriptions_created_at_id_index";`);
    this.addSql(`drop index if exists "subscriptions_customer_id_created_at_id_index";`);
    this.addSql(`drop index if exists "invoices_created_at_id_index";`);
    this.addSql(`drop index if exists "api_keys_customer_id_created_at_id_index";`);
    this.addSql(`drop index if exists "webhook_events_parked_received_at_id_index";`);
  }

}
