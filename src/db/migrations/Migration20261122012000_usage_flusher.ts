import { Migration } from '@mikro-orm/migrations';

/**
 * The meter-event flusher's bookkeeping on the usage ledger (src/stripe/meter-events):
 * `next_attempt_at` is both the claim lease (a claimed row is invisible to other flushers until then)
 * and the retry backoff; `parked_at` marks a row Stripe rejected permanently, kept out of the queue.
 */
export class Migration20261122012000_usage_flusher extends Migration {

  override name = 'Migration20261122012000_usage_flusher';

  override up(): void | Promise<void> {
    this.addSql(`alter table "usage_records" add column "next_attempt_at" timestamptz null, add column "parked_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "usage_records" drop column "next_attempt_at", drop column "parked_at";`);
  }

}
