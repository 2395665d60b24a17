/**
 * The change feed behind the verification caches, on a real database: the triggers note the customer of
 * every write a verification depends on (and not the per-second usage-stats update), and a look finds a
 * transaction that committed after an earlier look although its row's id is lower than one seen then.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyChangeFeed } from '../../src/billing/api-keys/change-feed.js';
import { logger } from '../../src/log.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

let db: TestOrm;
let feed: KeyChangeFeed;
let reported: string[][] = [];
let lost = 0;

const sql = (text: string, params: unknown[] = []) => db.orm.em.getConnection().execute(text, params);

/** One look; what it reported. */
async function look(): Promise<string[]> {
  reported = [];
  await feed.poll();
  return reported.flat().sort();
}

async function customer(id: string): Promise<void> {
  await sql(`insert into customers (id, created_at, raw) values (?, now(), '{}')`, [id]);
}

beforeAll(async () => {
  db = await createTestOrm();
  feed = new KeyChangeFeed(db.orm.em.fork(), logger);
  feed.subscribe(
    (ids) => reported.push([...ids]),
    () => lost++,
  );
  await look();
  expect(feed.healthy()).toBe(true);
  // The first look starts over (nothing vouched for the caches before it).
  expect(lost).toBe(1);
  lost = 0;
}, 60_000);

afterAll(async () => {
  await feed?.stop();
  await db?.dispose();
});

describe('API key change feed', () => {
  it('reports the customer of each write a verification reads, once', async () => {
    await customer('cus_feed_a');
    expect(await look()).toEqual(['cus_feed_a']);
    expect(await look()).toEqual([]);

    await sql(`insert into subscriptions (id, customer_id, status, currency, created_at, raw) values ('sub_feed_a', 'cus_feed_a', 'active', 'usd', now(), '{}')`);
    expect(await look()).toEqual(['cus_feed_a']);
    await sql(`update subscriptions set status = 'canceled' where id = 'sub_feed_a'`);
    expect(await look()).toEqual(['cus_feed_a']);

    await sql(`insert into api_keys (id, customer_id, name, prefix, hash) values ('key_feed_a', 'cus_feed_a', 'k', 'bg_test_x', 'hash-feed-a')`);
    expect(await look()).toEqual(['cus_feed_a']);
    // What usage-stats writes every second for every used key: not a change.
    await sql(`update api_keys set last_used_at = now(), verifications = '{"VALID": 3}' where id = 'key_feed_a'`);
    expect(await look()).toEqual([]);
    await sql(`update api_keys set revoked_at = now() where id = 'key_feed_a'`);
    expect(await look()).toEqual(['cus_feed_a']);

    await sql(`insert into dunning_cases (id, customer_id, invoice_id, opened_at) values (gen_random_uuid(), 'cus_feed_a', 'in_feed_a', now())`);
    expect(await look()).toEqual(['cus_feed_a']);

    await sql(`insert into test_clocks (id, frozen_time, status) values ('clock_feed', now(), 'ready')`);
    await customer('cus_feed_b');
    await sql(`update customers set test_clock = 'clock_feed' where id = 'cus_feed_b'`);
    expect(await look()).toEqual(['cus_feed_b']);
    await sql(`update test_clocks set frozen_time = frozen_time + interval '1 day' where id = 'clock_feed'`);
    expect(await look()).toEqual(['cus_feed_b']);
    expect(lost).toBe(0);
  });

  // PGlite has one connection: a transaction held open would block the look itself.
  it.runIf(!!process.env.TEST_DATABASE_URL)('finds a transaction that commits after a look that saw a later one', async () => {
    await customer('cus_feed_slow');
    await customer('cus_feed_fast');
    await look();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let wrote!: () => void;
    const written = new Promise<void>((r) => (wrote = r));
    // Takes its change row's id first, commits last.
    const slow = db.orm.em.fork().transactional(async (em) => {
      await em.execute(`update customers set name = 'slow' where id = 'cus_feed_slow'`);
      wrote();
      await gate;
    });
    await written;
    await sql(`update customers set name = 'fast' where id = 'cus_feed_fast'`);
    expect(await look()).toEqual(['cus_feed_fast']);
    release();
    await slow;
    expect(await look()).toEqual(['cus_feed_slow']);
    expect(await look()).toEqual([]);
  });
});
