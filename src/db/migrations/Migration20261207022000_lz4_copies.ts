import { Migration } from '@mikro-orm/migrations';

/**
 * The mirror's `raw` copies and the inbox's payloads compressed with lz4 rather than PostgreSQL's
 * default pglz: a page of `sync --full` writes about 2 MB of them, and the webhook worker one per event,
 * and pglz's compression was the largest single cost PostgreSQL showed for those writes (lz4
 * compresses several times faster, and reads back faster too). Values already stored keep their compression until rewritten. A server built
 * without lz4 (PGlite) keeps pglz.
 */
export class Migration20261207022000_lz4_copies extends Migration {

  override name = 'Migration20261207022000_lz4_copies';

  override up(): void | Promise<void> {
    this.addSql(`do \$\$ begin
  alter table "customers" alter column "raw" set compression lz4;
  alter table "subscriptions" alter column "raw" set compression lz4;
  alter table "subscription_items" alter column "raw" set compression lz4;
  alter table "invoices" alter column "raw" set compression lz4;
  alter table "webhook_events" alter column "payload" set compression lz4;
  alter table "webhook_events" alter column "payload_text" set compression lz4;
exception when feature_not_supported or invalid_parameter_value then null;
end \$\$;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "customers" alter column "raw" set compression default;`);
    this.addSql(`alter table "subscriptions" alter column "raw" set compression default;`);
    this.addSql(`alter table "subscription_items" alter column "raw" set compression default;`);
    this.addSql(`alter table "invoices" alter column "raw" set compression default;`);
    this.addSql(`alter table "webhook_events" alter column "payload" set compression default;`);
    this.addSql(`alter table "webhook_events" alter column "payload_text" set compression default;`);
  }

}
