/**
 * sync-engine's StripeSync as every comparison runs it: its CommonJS build (the ESM `runMigrations`
 * migrates nothing: it uses `__dirname`), pools of 16, no related-entity backfill, and its Stripe client
 * replaced by one pointed at the emulator (it has no host option; `sync.stripe` is a public field).
 * Plain JavaScript, so the backfill's own process (./sync-engine-backfill.mjs) loads nothing of the
 * bench; ./sync-engine.ts uses the same function.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const engine = require('@supabase/stripe-sync-engine');
const Stripe = require('stripe');

/** A StripeSync on `databaseUrl` whose Stripe is the emulator at `apiBase`; revalidating re-fetches every customer, subscription and invoice event's object. */
export function peerSync(databaseUrl, apiBase, revalidate, webhookSecret) {
  const sync = new engine.StripeSync({
    databaseUrl,
    stripeSecretKey: 'sk_test_bench',
    stripeWebhookSecret: webhookSecret,
    stripeApiVersion: Stripe.API_VERSION,
    backfillRelatedEntities: false,
    poolConfig: { max: 16 },
    ...(revalidate ? { revalidateObjectsViaStripeApi: ['customer', 'subscription', 'invoice'] } : {}),
  });
  const url = new URL(apiBase);
  sync.stripe = new Stripe('sk_test_bench', {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    apiVersion: Stripe.API_VERSION,
    maxNetworkRetries: 2,
  });
  return sync;
}
