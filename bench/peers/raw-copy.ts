/**
 * The mirror's `raw` copy (`plain`, src/stripe/mirror/common.ts) against a JSON round trip of each
 * object, on what `sync --full` lists from the recorded corpus: its invoices and subscriptions as the
 * Stripe SDK returns them (with its `Decimal` instances). Checks both give the same JSON first, then
 * prints the time of each over the whole list, five times, alternating.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/peers/raw-copy.ts
 */
import Stripe from 'stripe';
import { loadDist } from '../lib/dist.ts';
import { recordCorpus } from './lib/corpus.ts';

const { plain } = await loadDist<typeof import('../../src/stripe/mirror/common.js')>('stripe/mirror/common');
const corpus = await recordCorpus({ customers: 150, months: 3, seed: 42 });
const objects: object[] = [];
try {
  const url = new URL(corpus.apiBase);
  const stripe = new Stripe('sk_test_bench', { host: url.hostname, port: Number(url.port), protocol: 'http' });
  for await (const invoice of stripe.invoices.list({ limit: 100 })) objects.push(invoice);
  for await (const sub of stripe.subscriptions.list({ limit: 100, status: 'all', expand: ['data.discounts'] })) objects.push(sub);
} finally {
  await corpus.close();
}
const roundTrip = (o: unknown) => JSON.parse(JSON.stringify(o)) as unknown;
if (!objects.every((o) => JSON.stringify(plain(o)) === JSON.stringify(roundTrip(o)))) throw new Error('plain and the JSON round trip differ');
console.log(`${objects.length} invoices and subscriptions, as listed`);
for (let r = 0; r < 5; r++) {
  let t = performance.now();
  for (const o of objects) roundTrip(o);
  const json = performance.now() - t;
  t = performance.now();
  for (const o of objects) plain(o);
  const copy = performance.now() - t;
  console.log(`JSON round trip ${json.toFixed(1)} ms, plain ${copy.toFixed(1)} ms`);
}
