/**
 * Mirror of Stripe test clocks (`test_clocks`), written from `test_helpers.test_clock.*` events and when
 * the sandbox creates or finds its clock. A clock only moves forward, so the rule needs no event
 * stamps: the larger frozen time wins; at an equal frozen time the later status wins (created, then
 * ready, then advancing: an advance starts from the frozen time the previous `ready` reported);
 * deleted is final. Applying the same payload twice, or an old one late, changes nothing.
 */
import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { queryRows } from '../../db/sql.js';
import { toStorableText } from '../../text/storable.js';

export type TestClockPayload = Pick<Stripe.TestHelpers.TestClock, 'id' | 'frozen_time' | 'status'> & { name?: string | null };

const STATUS_RANK = `case %s when 'advancing' then 2 when 'internal_failure' then 2 when 'ready' then 1 else 0 end`;
const rank = (col: string) => STATUS_RANK.replace('%s', col);

export async function mirrorTestClock(em: EntityManager, clock: TestClockPayload, opts: { deleted?: boolean } = {}): Promise<void> {
  clock = toStorableText(clock);
  await queryRows(
    em,
    `insert into "test_clocks" ("id", "frozen_time", "status", "name", "deleted", "updated_at")
     values (?, ?, ?, ?, ?, now())
     on conflict ("id") do update set
       "status" = case
         when "test_clocks"."deleted" then "test_clocks"."status"
         when excluded."frozen_time" > "test_clocks"."frozen_time"
           or (excluded."frozen_time" = "test_clocks"."frozen_time" and ${rank('excluded."status"')} >= ${rank('"test_clocks"."status"')})
         then excluded."status" else "test_clocks"."status" end,
       "frozen_time" = greatest("test_clocks"."frozen_time", excluded."frozen_time"),
       "name" = coalesce(excluded."name", "test_clocks"."name"),
       "deleted" = "test_clocks"."deleted" or excluded."deleted",
       "updated_at" = now()`,
    [clock.id, new Date(clock.frozen_time * 1000), clock.status, clock.name ?? null, opts.deleted ?? false],
  );
}
