/**
 * Two gateway servers on one PostgreSQL database and one Redis: a signal produced by one replica's worker
 * reaches subscribers connected to the other (and to itself), each exactly once. Needs PostgreSQL
 * (TEST_DATABASE_URL, else the local default) and Redis (REDIS_TEST_URL, else redis://127.0.0.1:6379);
 * skipped when either is unreachable.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeOrm, openOrm, type Orm } from '../../src/db/orm.js';
import { createSignalBus, TOPICS, type SignalBus } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { redisUp, REDIS_TEST_URL } from '../support/redis.js';
import { allEvents, collect, emulatorWithCatalog, isProbe, processEvent, startSignalGateway, subscribe, warmUp, type SignalGateway } from './support.js';

const REDIS_URL = REDIS_TEST_URL;
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const available = (await redisUp()) && (await postgresUp());
// Two ORMs on one database: PostgreSQL (PGlite is one process's).
if (available) process.env.TEST_DATABASE_URL ??= PG_URL;

let db: TestOrm;
let ormB: Orm;
let emu: RunningEmulator;
let stripe: Stripe;
let priceId: (key: string) => Promise<string>;
let busA: SignalBus;
let busB: SignalBus;
let gwA: SignalGateway;
let gwB: SignalGateway;

describe.skipIf(!available)('two gateway replicas on one PostgreSQL and one Redis', () => {
  beforeAll(async () => {
    db = await createTestOrm();
    ormB = await openOrm({ databaseUrl: db.url! });
    ({ emu, stripe, priceId } = await emulatorWithCatalog(db.orm));
    // A channel prefix of its own: parallel test runs sharing the Redis never hear each other.
    const channelPrefix = `bg-test-${randomUUID()}:`;
    busA = createSignalBus({ redisUrl: REDIS_URL, channelPrefix });
    busB = createSignalBus({ redisUrl: REDIS_URL, channelPrefix });
    gwA = await startSignalGateway(db.orm, busA);
    gwB = await startSignalGateway(ormB, busB);
  });
  afterAll(async () => {
    await gwA?.close();
    await gwB?.close();
    await busA?.close();
    await busB?.close();
    await emu?.close();
    if (ormB) await closeOrm(ormB);
    await db?.dispose();
  });

  it('an event processed by one replica reaches subscribers of the other, exactly once', async () => {
    expect(busA.kind).toBe('redis');
    expect(busA.channel(TOPICS.billingEvents)).toBe(busB.channel(TOPICS.billingEvents));
    const signalsA = createSignals({ bus: busA, config: { mrrMilestones: [1] } });
    const admin = await gwB.token('ops', 'admin');
    const onB = await collect<any>(gwB.wsUrl, admin, 'subscription { billingEvents { id type customerId message } }', 'billingEvents');
    const carolOnB = await collect<any>(gwB.wsUrl, await gwB.token('carol'), 'subscription { billingEvents { id type customerId } }', 'billingEvents');
    const mrrOnB = await collect<any>(gwB.wsUrl, admin, 'subscription { mrrUpdated { totals { amount currency } activeSubscriptions } }', 'mrrUpdated');
    const onA = await collect<any>(gwA.wsUrl, await gwA.token('ops', 'admin'), 'subscription { billingEvents { id type } }', 'billingEvents');
    // Probes go out through replica A's bus, so they too cross Redis.
    await warmUp(busA, [{ c: onB }, { c: carolOnB, owner: 'carol' }, { c: mrrOnB, topic: 'mrr' }, { c: onA }]);

    const before = (await allEvents(stripe)).length;
    const carol = await subscribe(stripe, await priceId('pro_yearly'), { externalId: 'carol' });
    await subscribe(stripe, await priceId('basic_monthly'), { externalId: 'dave' });
    await stripe.subscriptions.update(carol.subscription.id, { metadata: { marker: '1' } });
    const events = (await allEvents(stripe)).slice(before);
    for (const e of [...events, ...events]) await processEvent(db.orm, signalsA, stripe, e);
    // Carol's update is the last event: in-order delivery means everything before it arrived.
    await Promise.all([onB, carolOnB, onA].map((c) => c.until((e: any) => e.type === 'SUBSCRIPTION_UPDATED')));

    const stored = await ormB.em.fork().getConnection().execute<{ id: string; customer_id: string | null }[]>('select id, customer_id from billing_events');
    const ids = (list: any[]) => list.filter((e) => !isProbe(e)).map((e) => e.id).sort();
    expect(stored.length).toBeGreaterThanOrEqual(10);
    expect(ids(onB.values)).toEqual(stored.map((r) => r.id).sort());
    expect(ids(onA.values)).toEqual(stored.map((r) => r.id).sort());
    expect(ids(carolOnB.values)).toEqual(stored.filter((r) => r.customer_id === carol.customer.id).map((r) => r.id).sort());
    await mrrOnB.until((r: any) => r.activeSubscriptions === 2);
    // pro_yearly $50/12 = 416.67 → 417; plus basic $1 → 516.67 → 517: one rounding, at the end.
    expect(mrrOnB.values.filter((r) => !isProbe(r)).map((r) => r.totals[0].amount)).toEqual([417, 517]);

    for (const c of [onB, carolOnB, mrrOnB, onA]) await c.dispose();
  });
});
