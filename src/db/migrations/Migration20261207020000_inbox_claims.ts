import { Migration } from '@mikro-orm/migrations';

/**
 * Claims that cost the same however long the inbox queue is. The worker's loops claim by customer
 * (`claim_partition`: the hash of the event's customer, else its object, else its id), which the claim
 * used to compute from the jsonb payload of every due row, sorting them all, at every claim: with
 * thousands of events queued behind a burst, that was most of the claim's time. The hash is now stored
 * with the event, and due rows are read in inbox order from a partial index, so a claim stops after its
 * batch. No version of the worker leaves rows `processing` any more (the claim marks them processed in
 * its transaction); any left from an old one are pending again.
 */
export class Migration20261207020000_inbox_claims extends Migration {

  override name = 'Migration20261207020000_inbox_claims';

  override up(): void | Promise<void> {
    this.addSql(`alter table "webhook_events" add column "claim_partition" int not null default 0;`);
    this.addSql(`update "webhook_events" set "status" = 'pending', "locked_until" = null where "status" = 'processing';`);
    // Only rows that can still be claimed (pending, or parked and requeued later) need the hash.
    this.addSql(`update "webhook_events" set "claim_partition" = hashtext(coalesce(case jsonb_typeof("payload" #> '{data,object,customer}')
        when 'string' then "payload" #>> '{data,object,customer}' when 'object' then "payload" #>> '{data,object,customer,id}' end,
        "object_id", "id")) & 2147483647
      where "status" in ('pending', 'parked');`);
    this.addSql(`create index "webhook_events_pending_order_index" on "webhook_events" ("stripe_created_at", "received_at", "id") where status = 'pending';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "webhook_events_pending_order_index";`);
    this.addSql(`alter table "webhook_events" drop column if exists "claim_partition";`);
  }

}
