import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalBus, type SignalBus } from '../../src/events/index.js';
import { createSignals, type Signals } from '../../src/billing/signals/index.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { allEvents, collect, emulatorWithCatalog, isProbe, processEvent, startSignalGateway, subscribe, warmUp, type SignalGateway } from './support.js';

let db: TestOrm;
let emu: RunningEmulator;
let stripe: Stripe;
let priceId: (key: string) => Promise<string>;
let bus: SignalBus;
let signals: Signals;
let gw: SignalGateway;

beforeAll(async () => {
  db = await createTestOrm();
  ({ emu, stripe, priceId } = await emulatorWithCatalog(db.orm));
  bus = createSignalBus();
  signals = createSignals({ bus, config: { mrrMilestones: [5, 1000] } });
  gw = await startSignalGateway(db.orm, bus);
});
afterAll(async () => {
  await gw?.close();
  await bus?.close();
  await emu?.close();
  await db?.dispose();
});

const EVENT_FIELDS = 'id type occurredAt customerId subscriptionId invoiceId amount { amount currency formatted } message';

type Ev = { id: string; type: string; customerId: string | null; message: string; amount: { amount: number; formatted: string } | null };

describe('live billing signals over graphql-ws', () => {
  it('delivers each BillingEvent exactly once; a customer receives only its own; admins get MRR and milestones', async () => {
    const admin = await gw.token('ops', 'admin');
    const alice = await gw.token('alice');
    const all = await collect<Ev>(gw.wsUrl, admin, `subscription { billingEvents { ${EVENT_FIELDS} } }`, 'billingEvents');
    const mine = await collect<Ev>(gw.wsUrl, alice, `subscription { billingEvents { ${EVENT_FIELDS} } }`, 'billingEvents');
    const payments = await collect<Ev>(gw.wsUrl, admin, `subscription { billingEvents(types: [PAYMENT_RECEIVED]) { ${EVENT_FIELDS} } }`, 'billingEvents');
    const mrr = await collect<any>(gw.wsUrl, admin, 'subscription { mrrUpdated { asOf totals { amount currency formatted } activeSubscriptions byPlan { plan { id name } mrr { amount } subscriptions } } }', 'mrrUpdated');
    const milestones = await collect<any>(gw.wsUrl, admin, 'subscription { milestoneReached { threshold { amount formatted } mrr { amount } reachedAt } }', 'milestoneReached');
    await warmUp(bus, [{ c: all }, { c: mine, owner: 'alice' }, { c: payments, type: 'PAYMENT_RECEIVED' }, { c: mrr, topic: 'mrr' }, { c: milestones, topic: 'milestones' }]);
    const before = (await allEvents(stripe)).length;
    const a = await subscribe(stripe, await priceId('pro_monthly'), { externalId: 'alice' });
    const b = await subscribe(stripe, await priceId('basic_monthly'), { externalId: 'bob' });
    const events = (await allEvents(stripe)).slice(before);
    for (const e of [...events, ...events.slice().reverse()]) await processEvent(db.orm, signals, stripe, e);
    // A last event of alice's marks the end: delivery is in order, so everything before it has arrived.
    const markerStart = (await allEvents(stripe)).length;
    await stripe.subscriptions.update(a.subscription.id, { metadata: { marker: '1' } });
    for (const e of (await allEvents(stripe)).slice(markerStart)) await processEvent(db.orm, signals, stripe, e);
    await Promise.all([all.until((e) => e.type === 'SUBSCRIPTION_UPDATED'), mine.until((e) => e.type === 'SUBSCRIPTION_UPDATED')]);

    const stored = await db.orm.em.fork().getConnection().execute<{ id: string; customer_id: string | null; type: string }[]>('select id, customer_id, type from billing_events');
    const real = (list: Ev[]) => list.filter((e) => !isProbe(e));
    // Admin: every stored event, once.
    expect(real(all.values).map((e) => e.id).sort()).toEqual(stored.map((r) => r.id).sort());
    // Alice: exactly her own events, once each (not bob's, not the MRR ones, which belong to no customer).
    const alices = stored.filter((r) => r.customer_id === a.customer.id);
    expect(real(mine.values).map((e) => e.id).sort()).toEqual(alices.map((r) => r.id).sort());
    expect(real(mine.values).every((e) => e.customerId === a.customer.id)).toBe(true);
    expect(alices.map((r) => r.type).sort()).toEqual(['CUSTOMER_CREATED', 'INVOICE_CREATED', 'PAYMENT_RECEIVED', 'SUBSCRIPTION_STARTED', 'SUBSCRIPTION_UPDATED']);
    // Filter by type.
    expect(real(payments.values).map((e) => e.customerId).sort()).toEqual([a.customer.id, b.customer.id].sort());
    expect(real(payments.values).find((e) => e.customerId === a.customer.id)).toMatchObject({ type: 'PAYMENT_RECEIVED', amount: { amount: 500, formatted: '$5.00' }, message: `payment_received customer=${a.customer.id} amount=$5.00` });
    // MRR: $5 then $6; the $5 milestone once.
    await milestones.until((m) => m.threshold.amount === 500);
    const reports = mrr.values.filter((r) => !isProbe(r));
    expect(reports.map((r) => r.totals)).toEqual([[{ amount: 500, currency: 'usd', formatted: '$5.00' }], [{ amount: 600, currency: 'usd', formatted: '$6.00' }]]);
    expect(reports[1]).toMatchObject({ activeSubscriptions: 2, byPlan: [{ plan: { id: 'pro_monthly', name: 'Pro' }, mrr: { amount: 500 }, subscriptions: 1 }, { plan: { id: 'basic_monthly' }, mrr: { amount: 100 }, subscriptions: 1 }] });
    expect(milestones.values.filter((m) => !isProbe(m)).map((m) => m.threshold)).toEqual([{ amount: 500, formatted: '$5.00' }]);

    for (const c of [all, mine, payments, mrr, milestones]) await c.dispose();
  });

  it('Query.mrr is for admins; mrrUpdated and milestoneReached refuse customers; a customer cannot name another customer', async () => {
    const admin = await gw.token('ops', 'admin');
    const alice = await gw.token('alice');
    const report = await gw.gql('{ mrr { asOf totals { amount currency formatted } activeSubscriptions byPlan { plan { id } mrr { formatted } subscriptions } } }', admin);
    expect(report.errors).toBeUndefined();
    expect(report.data.mrr.totals).toEqual([{ amount: 600, currency: 'usd', formatted: '$6.00' }]);
    expect(report.data.mrr.activeSubscriptions).toBe(2);
    expect((await gw.gql('{ mrr { activeSubscriptions } }', alice)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql('{ mrr { activeSubscriptions } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    for (const query of ['subscription { mrrUpdated { activeSubscriptions } }', 'subscription { milestoneReached { reachedAt } }', 'subscription { billingEvents(customerId: "bob") { id } }']) {
      const c = await collect(gw.wsUrl, alice, query, 'x');
      await expect(c.waitFor(1)).rejects.toSatisfy((errors: any) => errors[0]?.extensions?.code === 'FORBIDDEN');
      await c.dispose();
    }
    const bobs = (await db.orm.em.fork().getConnection().execute<{ id: string }[]>(`select id from customers where external_id = 'bob'`))[0]!.id;
    const byId = await collect(gw.wsUrl, alice, `subscription { billingEvents(customerId: "${bobs}") { id } }`, 'x');
    await expect(byId.waitFor(1)).rejects.toSatisfy((errors: any) => errors[0]?.extensions?.code === 'FORBIDDEN');
    await byId.dispose();
  });
});
