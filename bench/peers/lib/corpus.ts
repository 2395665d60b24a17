/**
 * A lifecycle corpus recorded from the emulator, seeded and reproducible: `customers` customers on one
 * test clock, each with a card (1 in 6 fails: dunning) and a subscription (half on a 14-day trial);
 * then `months` renewals, with upgrades and downgrades (prorated), seat changes, cancel at period end,
 * resume, cancel now and profile updates between them. The emulator keeps running afterwards: its
 * state is the truth the mirrors are compared with, and the API they re-read from.
 */
import Stripe from 'stripe';
import { loadDist } from '../../lib/dist.ts';

export interface Corpus {
  /** Every event the account emitted, oldest first, as delivered (JSON). */
  events: Stripe.Event[];
  /** The emulator's API base (http://127.0.0.1:port). */
  apiBase: string;
  stripe: Stripe;
  /** Requests to the emulator's API (`/v1/…`), counted from its start. */
  apiCalls(): number;
  /** The same requests by method and path, ids replaced (`GET /v1/invoices/…`): what a system asked Stripe for. */
  apiCallsByPath(): Map<string, number>;
  close(): Promise<void>;
}

const DAY = 86_400;

export async function recordCorpus(opts: { customers: number; months: number; seed: number }): Promise<Corpus> {
  const [{ startEmulator }, { syncCatalog }, { loadCatalog }, { seededRandom }] = await Promise.all([
    import('@billing-gateway/stripe-emulator'),
    loadDist<typeof import('../../../src/stripe/catalog-sync.js')>('stripe/catalog-sync'),
    loadDist<typeof import('../../../src/catalog.js')>('catalog'),
    import('@billing-gateway/stripe-emulator'),
  ]);
  const emu = await startEmulator({ port: 0 });
  let calls = 0;
  const byPath = new Map<string, number>();
  emu.http.server.on('request', (req: { url?: string; method?: string }) => {
    if (!req.url?.startsWith('/v1/')) return;
    calls++;
    const path = `${req.method} ${req.url.split('?')[0]!.replace(/\/[a-z]+_[A-Za-z0-9_]+/g, '/…')}`;
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
  });
  const stripe = new Stripe('sk_test_bench', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
  await syncCatalog(stripe, loadCatalog());
  const priceOf = async (lookup: string) => (await stripe.prices.list({ lookup_keys: [lookup] })).data[0]!.id;
  const prices = [await priceOf('basic_monthly'), await priceOf('pro_monthly')];
  const random = seededRandom(opts.seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;

  let t = Date.UTC(2026, 0, 5, 9) / 1000;
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: t });

  // Decisions are drawn in a fixed order before the calls run, so concurrency does not change them.
  interface Account { customer: string; sub: string; pendingCancel: boolean; canceled: boolean }
  const accounts: Account[] = [];
  const plan = Array.from({ length: opts.customers }, (_, i) => ({
    i,
    failing: random() < 1 / 6,
    trial: random() < 0.5,
    price: pick(prices),
    quantity: 1 + Math.floor(random() * 5),
  }));
  await inChunks(plan, 10, async (p) => {
    const customer = await stripe.customers.create({ email: `peer${p.i}@example.com`, name: `Peer ${p.i}`, test_clock: clock.id, metadata: { external_id: `user_peer_${p.i}` } });
    const pm = await stripe.paymentMethods.attach(p.failing ? 'pm_card_chargeCustomerFail' : 'pm_card_visa', { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: p.price, quantity: p.quantity }],
      ...(p.trial ? { trial_period_days: 14 } : {}),
      payment_behavior: 'allow_incomplete',
    });
    accounts[p.i] = { customer: customer.id, sub: sub.id, pendingCancel: false, canceled: false };
  });

  for (let month = 1; month <= opts.months; month++) {
    // Mid-period changes, a few days into the period.
    t += 10 * DAY;
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: t });
    const moves = accounts.map((a) => ({ a, r: random(), price: pick(prices), quantity: 1 + Math.floor(random() * 8), name: random() < 0.15 }));
    await inChunks(moves, 10, async ({ a, r, price, quantity, name }) => {
      if (name) await stripe.customers.update(a.customer, { name: `Peer ${a.customer.slice(-4)} m${month}` });
      if (a.canceled) return;
      const current = await stripe.subscriptions.retrieve(a.sub);
      if (current.status === 'canceled' || current.status === 'incomplete_expired') {
        a.canceled = true;
        return;
      }
      const item = current.items.data[0]!;
      if (r < 0.2) {
        await stripe.subscriptions.update(a.sub, { items: [{ id: item.id, price }], proration_behavior: 'create_prorations' });
      } else if (r < 0.4) {
        await stripe.subscriptions.update(a.sub, { items: [{ id: item.id, quantity }], proration_behavior: 'create_prorations' });
      } else if (r < 0.47 && !a.pendingCancel) {
        await stripe.subscriptions.update(a.sub, { cancel_at_period_end: true });
        a.pendingCancel = true;
      } else if (r < 0.52 && a.pendingCancel) {
        await stripe.subscriptions.update(a.sub, { cancel_at_period_end: false });
        a.pendingCancel = false;
      } else if (r < 0.55) {
        await stripe.subscriptions.cancel(a.sub);
        a.canceled = true;
      }
    });
    // The renewal (and the trial ends, dunning retries meanwhile).
    t += 22 * DAY;
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: t });
  }
  // Dunning retries and period-end cancellations after the last renewal.
  t += 8 * DAY;
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: t });

  const events: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ limit: 100 })) events.push(e);
  events.reverse();
  return {
    events,
    apiBase: `http://127.0.0.1:${emu.port}`,
    stripe,
    apiCalls: () => calls,
    apiCallsByPath: () => new Map(byPath),
    close: () => emu.close(),
  };
}

async function inChunks<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}
