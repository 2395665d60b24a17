import { Migration } from '@mikro-orm/migrations';

/**
 * Room on the usage ledger's pages for the flusher's updates. A row is written once and updated twice
 * soon after (leased, then marked sent); on full pages (the default fillfactor of 100) the lease could
 * not stay on the row's page, so it wrote a new copy of the row and an entry in each of the table's
 * four indexes. With free space on the page the lease is a heap-only update (no index touched).
 * Applies to pages written from now on.
 */
export class Migration20261207040000_usage_fillfactor extends Migration {

  override name = 'Migration20261207040000_usage_fillfactor';

  override up(): void | Promise<void> {
    this.addSql(`alter table "usage_records" set (fillfactor = 50);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "usage_records" reset (fillfactor);`);
  }

}
