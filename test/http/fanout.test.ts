/**
 * The graphql-ws fan-out (src/http/fanout) over real WebSockets: subscribers with the same operation,
 * variables and viewer share one execution; each still receives exactly its own events, once, in order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/tokens.js';
import { TOPICS, type BillingEventPayload, type SignalBus } from '../../src/events/index.js';
import type { BillingEventTypeValue } from '../../src/db/entities/billing-event.js';
import { collect, signalGatewayForFile, TEST_SECRET, type Collected, type SignalGateway } from '../signals/support.js';
import { eventually } from '../support/eventually.js';

const setup = signalGatewayForFile();
let bus: SignalBus;
let gw: SignalGateway;
beforeAll(() => ({ bus, gw } = setup));

const CUSTOMERS = { alice: 'cus_alice', bob: 'cus_bob', carol: 'cus_carol' } as const;
type Owner = keyof typeof CUSTOMERS | null;

let seq = 0;
function event(owner: Owner, type: BillingEventTypeValue, id = `evt_${++seq}`): BillingEventPayload {
  return {
    id,
    type,
    occurredAt: new Date(0).toISOString(),
    customerId: owner ? CUSTOMERS[owner] : null,
    customerExternalId: owner,
    subscriptionId: null,
    invoiceId: null,
    amount: type === 'PAYMENT_RECEIVED' ? { amount: 500, currency: 'usd' } : null,
    message: `${type.toLowerCase()} ${owner ?? 'none'}`,
  };
}

type Ev = { id: string; type: string; customerId: string | null };
const FIELDS = 'id type customerId';
const ALL = `subscription { billingEvents { ${FIELDS} } }`;
const FILTERED = `subscription Filtered($c: ID) { billingEvents(types: [PAYMENT_RECEIVED, PAYMENT_FAILED], customerId: $c) { ${FIELDS} } }`;

describe('graphql-ws fan-out', () => {
  it('shares one execution per (operation, variables, viewer) and gives every subscriber exactly its events, once', async () => {
    const [alice, bob, admin] = [await gw.token('alice'), await gw.token('bob'), await gw.token('ops', 'admin')];
    const subscribers: { name: string; c: Collected<Ev>; sees: (e: BillingEventPayload) => boolean }[] = [];
    const add = async (name: string, token: string, query: string, sees: (e: BillingEventPayload) => boolean, variables?: Record<string, unknown>) => {
      subscribers.push({ name, c: await collect<Ev>(gw.wsUrl, token, query, 'billingEvents', variables), sees });
    };
    const paymentOf = (owner: Owner) => (e: BillingEventPayload) => (e.type === 'PAYMENT_RECEIVED' || e.type === 'PAYMENT_FAILED') && e.customerExternalId === owner;
    for (let i = 0; i < 3; i++) await add(`alice${i}`, alice, ALL, (e) => e.customerExternalId === 'alice');
    for (let i = 0; i < 2; i++) await add(`bob${i}`, bob, ALL, (e) => e.customerExternalId === 'bob');
    for (let i = 0; i < 3; i++) await add(`admin${i}`, admin, ALL, () => true);
    for (let i = 0; i < 2; i++) await add(`adminAlicePayments${i}`, admin, FILTERED, paymentOf('alice'), { c: CUSTOMERS.alice });
    await add('adminCarolPayments', admin, FILTERED, paymentOf('carol'), { c: CUSTOMERS.carol });
    // A customer naming nobody's customer in the same filtered operation: the same document, another viewer.
    await add('aliceFiltered', alice, FILTERED, paymentOf('alice'), { c: null });

    // Subscriptions start a little after the socket is acknowledged: publish probes until each has one.
    const probes = [event('alice', 'PAYMENT_RECEIVED', 'probe_a'), event('bob', 'PAYMENT_RECEIVED', 'probe_b'), event('carol', 'PAYMENT_RECEIVED', 'probe_c')];
    const timer = setInterval(() => probes.forEach((p) => bus.publish(TOPICS.billingEvents, p)), 20);
    try {
      await Promise.all(subscribers.map((s) => s.c.waitFor(1)));
    } finally {
      clearInterval(timer);
    }
    // 12 subscribers, 6 distinct (document, variables, viewer): alice/ALL, bob/ALL, admin/ALL,
    // admin/FILTERED(alice), admin/FILTERED(carol), alice/FILTERED(null).
    expect(gw.server.fanout.subscribers).toBe(12);
    expect(gw.server.fanout.keys).toBe(6);

    const types: BillingEventTypeValue[] = ['CUSTOMER_CREATED', 'PAYMENT_RECEIVED', 'PAYMENT_FAILED', 'SUBSCRIPTION_STARTED'];
    const owners: Owner[] = ['alice', 'bob', 'carol', null];
    const published: BillingEventPayload[] = [];
    for (let i = 0; i < 48; i++) published.push(event(owners[i % 4]!, types[Math.floor(i / 4) % 4]!));
    const half = published.length / 2;
    const dropped = subscribers.find((s) => s.name === 'alice1')!;
    const killed = subscribers.find((s) => s.name === 'admin2')!;
    for (const [i, e] of published.entries()) {
      if (i === half) {
        // Mid-stream: one subscriber unsubscribes cleanly, another's socket is cut; the others go on.
        await eventually('the two to see the first half', () => dropped.c.values.some((v) => v.id === published[half - 4]!.id) && killed.c.values.some((v) => v.id === published[half - 1]!.id));
        await dropped.c.dispose();
        killed.c.client.terminate();
        await eventually('subscribers = 10', () => gw.server.fanout.subscribers, (n) => n === 10);
      }
      bus.publish(TOPICS.billingEvents, e);
    }
    // One last event every remaining subscriber sees marks the end (delivery is in order).
    const marker = [event('alice', 'PAYMENT_RECEIVED'), event('bob', 'PAYMENT_RECEIVED'), event('carol', 'PAYMENT_RECEIVED')];
    for (const m of marker) bus.publish(TOPICS.billingEvents, m);
    const live = subscribers.filter((s) => s !== dropped && s !== killed);
    await Promise.all(live.map((s) => s.c.until((v) => v.id === marker.filter(s.sees).at(-1)!.id)));

    const everything = [...published, ...marker];
    for (const s of live) {
      const got = s.c.values.filter((v) => !v.id.startsWith('probe_')).map((v) => v.id);
      expect({ name: s.name, got }).toEqual({ name: s.name, got: everything.filter(s.sees).map((e) => e.id) });
      expect(s.c.errors).toEqual([]);
    }
    // Customer subscribers never saw an event of someone else or of nobody.
    for (const s of live.filter((x) => x.name.startsWith('alice'))) expect(s.c.values.every((v) => v.customerId === CUSTOMERS.alice)).toBe(true);
    // The dropped ones received the first half and nothing after they left.
    for (const s of [dropped, killed]) {
      const ids = new Set(s.c.values.map((v) => v.id));
      expect(published.slice(half).filter((e) => ids.has(e.id))).toEqual([]);
    }
    expect(killed.c.values.filter((v) => !v.id.startsWith('probe_')).map((v) => v.id)).toEqual(published.slice(0, half).map((e) => e.id));
    // The keys of the two left subscribers are still live: others share them.
    expect(gw.server.fanout.keys).toBe(6);

    await Promise.all(live.map((s) => s.c.dispose()));
    // Unsubscribing the last subscriber of each key releases it: nothing is left behind.
    await eventually('subscribers = 0', () => gw.server.fanout.subscribers, (n) => n === 0);
    await eventually('keys = 0', () => gw.server.fanout.keys, (n) => n === 0);
    expect(gw.server.fanout.keys).toBe(0);
  });

  it('a refused subscription leaves no key; the next subscriber of the same key opens it afresh', async () => {
    const alice = await gw.token('alice');
    const refused = await collect(gw.wsUrl, alice, 'subscription { mrrUpdated { activeSubscriptions } }', 'mrrUpdated');
    await expect(refused.waitFor(1)).rejects.toSatisfy((errors: any) => errors[0]?.extensions?.code === 'FORBIDDEN');
    expect(gw.server.fanout.keys).toBe(0);
    const again = await collect(gw.wsUrl, alice, 'subscription { mrrUpdated { activeSubscriptions } }', 'mrrUpdated');
    await expect(again.waitFor(1)).rejects.toSatisfy((errors: any) => errors[0]?.extensions?.code === 'FORBIDDEN');
    expect(gw.server.fanout.keys).toBe(0);
    await refused.dispose();
    await again.dispose();

    // An admin's mrrUpdated is shared by two sockets, and released when both leave.
    const admin = await gw.token('ops', 'admin');
    const a = await collect<any>(gw.wsUrl, admin, 'subscription { mrrUpdated { activeSubscriptions } }', 'mrrUpdated');
    const b = await collect<any>(gw.wsUrl, admin, 'subscription { mrrUpdated { activeSubscriptions } }', 'mrrUpdated');
    const timer = setInterval(() => bus.publish(TOPICS.mrrUpdated, { asOf: new Date(0).toISOString(), totals: [], activeSubscriptions: 7, byPlan: [] }), 20);
    try {
      await Promise.all([a.waitFor(1), b.waitFor(1)]);
    } finally {
      clearInterval(timer);
    }
    expect(gw.server.fanout.keys).toBe(1);
    expect(a.values[0]).toEqual({ activeSubscriptions: 7 });
    await a.dispose();
    await eventually('subscribers = 1', () => gw.server.fanout.subscribers, (n) => n === 1);
    expect(gw.server.fanout.keys).toBe(1);
    await b.dispose();
    await eventually('keys = 0', () => gw.server.fanout.keys, (n) => n === 0);
    expect(gw.server.fanout.subscribers).toBe(0);
  });

  it('a token expiring on an open socket closes that socket (4419) only; its key-mate keeps receiving', async () => {
    const lasting = await gw.token('ops', 'admin');
    // Same viewer (sub, role): the same key as `lasting`, but valid for a few seconds only.
    const expiring = await signDevToken({ sub: 'ops', role: 'admin', expiresIn: 3 }, TEST_SECRET);
    const keep = await collect<Ev>(gw.wsUrl, lasting, ALL, 'billingEvents');
    const short = await collect<Ev>(gw.wsUrl, expiring, ALL, 'billingEvents');
    const closed = new Promise<number>((resolve) => short.client.on('closed', (e) => resolve((e as { code: number }).code)));
    const probe = event('alice', 'CUSTOMER_CREATED', 'probe_x');
    const timer = setInterval(() => bus.publish(TOPICS.billingEvents, probe), 20);
    try {
      await Promise.all([keep.waitFor(1), short.waitFor(1)]);
    } finally {
      clearInterval(timer);
    }
    expect(gw.server.fanout.keys).toBe(1);
    expect(await closed).toBe(4419);
    await eventually('subscribers = 1', () => gw.server.fanout.subscribers, (n) => n === 1);
    const after = event('bob', 'PAYMENT_RECEIVED');
    bus.publish(TOPICS.billingEvents, after);
    await keep.until((v) => v.id === after.id);
    expect(short.values.some((v) => v.id === after.id)).toBe(false);
    expect(gw.server.fanout.keys).toBe(1);
    await keep.dispose();
    await short.dispose();
    await eventually('keys = 0', () => gw.server.fanout.keys, (n) => n === 0);
  });
});
