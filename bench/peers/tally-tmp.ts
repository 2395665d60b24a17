import Stripe from 'stripe';
import { recordCorpus } from './lib/corpus.ts';
import { createBenchDatabase } from '../lib/db.ts';
import { loadDist } from '../lib/dist.ts';
const corpus = await recordCorpus({ customers: 150, months: 3, seed: 42 });
const db = await createBenchDatabase('postgres://postgres@127.0.0.1:5432/test', 'tally');
const { openOrm, closeOrm } = await loadDist<typeof import('../../src/db/orm.js')>('db/orm');
const { storeEvents, WebhookWorker } = await loadDist<typeof import('../../src/stripe/webhooks/index.js')>('stripe/webhooks/index');
const orm = await openOrm({ databaseUrl: db.url });
const url = new URL(corpus.apiBase);
const stripe = new Stripe('sk_test_x', { host: url.hostname, port: Number(url.port), protocol: 'http' });
if (!process.env.LIVE) for (let i = 0; i < corpus.events.length; i += 16) await storeEvents(orm.em.fork(), corpus.events.slice(i, i + 16).map((event) => ({ event })));
const { loadConfig } = await loadDist<typeof import('../../src/config.js')>('config');
const { createEventHooks } = await loadDist<typeof import('../../src/events/event-hooks.js')>('events/event-hooks');
const hooks = createEventHooks(loadConfig({ DATABASE_URL: db.url, STRIPE_WEBHOOK_SECRET: 'whsec_x' } as never));
const worker = new WebhookWorker({ orm, stripe, batchSize: Number(process.env.BATCH ?? 64), afterEvent: process.env.HOOKS ? hooks.afterEvent : undefined });
const c0 = corpus.apiCalls();
const t0 = performance.now();
let out: Awaited<ReturnType<typeof worker.drain>> = [];
if (process.env.LIVE) {
  const orig = worker.processBatch.bind(worker);
  worker.processBatch = async (n?: number) => { const r = await orig(n); out.push(...r); return r; };
  worker.start();
  for (let i = 0; i < corpus.events.length; i += 8) { await storeEvents(orm.em.fork(), corpus.events.slice(i, i + 8).map((event) => ({ event }))); worker.notify(); }
  for (;;) { const r = await orm.em.fork().getConnection().execute(`select count(*)::int as n from webhook_events where status in ('pending','processing')`); if (r[0].n === 0) break; await new Promise((res) => setTimeout(res, 50)); }
  await worker.stop();
} else out = await worker.drain();
const tally: Record<string, number> = {};
for (const o of out) { const k = `${o.status} ${o.type} ${o.status === 'processed' ? o.result.action + ' ' + (o.result.reason ?? '') : o.error}`; tally[k] = (tally[k] ?? 0) + 1; }
console.log(Object.entries(tally).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}\t${k}`).join('\n'));
console.log(`calls ${corpus.apiCalls() - c0}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
await closeOrm(orm); await db.drop(); await corpus.close();
