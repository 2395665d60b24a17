import { Migration } from '@mikro-orm/migrations';

export class Migration20261206100000_hardening extends Migration {

  override name = 'Migration20261206100000_hardening';

  override up(): void | Promise<void> {
    // The event exactly as received, kept only when `payload` (jsonb) had to replace text jsonb refuses.
    this.addSql(`alter table "webhook_events" add column "payload_text" text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "webhook_events" drop column "payload_text";`);
  }

}
