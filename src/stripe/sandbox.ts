import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { loadCatalog, type Catalog } from '../catalog.js';
import type { Config } from '../config.js';
import { readSyncState, writeSyncState } from '../db/sync-state.js';
import { logger } from '../log.js';
import { syncCatalog, type SyncReport } from './catalog-sync.js';
import { createStripeClient, isResourceMissing } from './client.js';
import { mirrorCatalog } from './mirror-catalog.js';
import { mirrorTestClock } from './mirror/test-clocks.js';

/**
 * The composition root's Stripe: with STRIPE_SECRET_KEY the real API (the catalog is read, not
 * written: `billing-gateway setup` writes it); without it the sandbox: the emulator in-process
 * (or at STRIPE_API_BASE), the catalog synced to it, the gateway's webhook endpoint registered
 * and one test clock for every customer the gateway creates. Each step finds what a previous
 * start left behind, so a restart creates nothing new.
 */

/** The key the SDK sends to an emulator; the emulator accepts any `sk_test_…`. */
export const SANDBOX_SECRET_KEY = 'sk_test_sandbox';
export const SANDBOX_TEST_CLOCK_NAME = 'billing-gateway sandbox';
export const STATE_TEST_CLOCK = 'sandbox.test_clock';
export const STATE_WEBHOOK_ENDPOINT = 'sandbox.webhook_endpoint';
export const WEBHOOK_PATH = '/webhooks/stripe';

export type StripeConfig = Pick<Config, 'stripe' | 'dataDir' | 'publicUrl' | 'billingCatalog'>;

export interface PrepareStripeOptions {
  /** Where the emulator delivers events; default `<publicUrl>/webhooks/stripe`. */
  webhookUrl?: string;
  /** Default: loaded from `config.billingCatalog`. */
  catalog?: Catalog;
  /** Per-request timeout of the SDK (ms). */
  timeoutMs?: number;
}

export interface PreparedStripe {
  stripe: Stripe;
  mode: 'live' | 'sandbox';
  /** Base URL of the emulator in sandbox mode. */
  emulatorUrl?: string;
  /** The secret to verify `Stripe-Signature` with (configured, or the sandbox endpoint's). */
  webhookSecret?: string;
  webhookEndpointId?: string;
  /** The sandbox test clock every new customer is put on. */
  testClockId?: string;
  /** The catalog sync of this start (a dry run in live mode). */
  catalogReport: SyncReport;
  /** Stops the in-process emulator, if one was started. */
  close(): Promise<void>;
}

/** Anything that hands out an EntityManager (a MikroORM instance). */
export interface HasEntityManager {
  em: EntityManager;
}

type StartEmulator = (opts: {
  port: number;
  dataDir?: string;
  webhookSecret?: string;
}) => Promise<{ url: string; port: number; close(): Promise<void> }>;

interface StoredEndpoint {
  id: string;
  url: string;
  secret: string;
}

/**
 * One endpoint for `url`, enabled for every event, whose secret we know. Stripe shows an endpoint's
 * secret only when it is created, so it is kept in `sync_state`; an endpoint whose secret we cannot
 * know (or that differs from STRIPE_WEBHOOK_SECRET) is replaced.
 */
export async function ensureWebhookEndpoint(
  stripe: Stripe,
  em: EntityManager,
  url: string,
  configuredSecret?: string,
): Promise<{ id: string; secret: string }> {
  const stored = parseStoredEndpoint(await readSyncState(em, STATE_WEBHOOK_ENDPOINT));
  const matching: Stripe.WebhookEndpoint[] = [];
  for await (const ep of stripe.webhookEndpoints.list({ limit: 100 })) if (ep.url === url) matching.push(ep);

  let keep: { id: string; secret: string } | null = null;
  for (const ep of matching) {
    const known = ep.secret ?? (stored?.id === ep.id ? stored.secret : undefined);
    const usable =
      !keep &&
      ep.status !== 'disabled' &&
      known !== undefined &&
      (configuredSecret === undefined || known === configuredSecret) &&
      ep.enabled_events.includes('*');
    if (usable) keep = { id: ep.id, secret: known! };
    else await stripe.webhookEndpoints.del(ep.id);
  }
  if (!keep) {
    const params: Stripe.WebhookEndpointCreateParams & { secret?: string } = {
      url,
      enabled_events: ['*'],
      description: 'billing-gateway (sandbox)',
    };
    // The emulator (not Stripe) accepts the signing secret to use, so STRIPE_WEBHOOK_SECRET works in sandbox.
    if (configuredSecret) params.secret = configuredSecret;
    const created = await stripe.webhookEndpoints.create(params);
    if (!created.secret) throw new Error('the Stripe API returned no secret for the new webhook endpoint');
    keep = { id: created.id, secret: created.secret };
  }
  await writeSyncState(em, STATE_WEBHOOK_ENDPOINT, JSON.stringify({ ...keep, url } satisfies StoredEndpoint));
  return keep;
}

function parseStoredEndpoint(value: string | null): StoredEndpoint | null {
  if (!value) return null;
  try {
    const v = JSON.parse(value) as Partial<StoredEndpoint>;
    return typeof v.id === 'string' && typeof v.secret === 'string' ? (v as StoredEndpoint) : null;
  } catch {
    return null;
  }
}

/** The signing secret of the endpoint a sandbox gateway registered (for processes that share its database), if any. */
export async function storedWebhookSecret(em: EntityManager): Promise<string | undefined> {
  return parseStoredEndpoint(await readSyncState(em, STATE_WEBHOOK_ENDPOINT))?.secret;
}

/**
 * The sandbox test clock: the one remembered in `sync_state`, else the one named like ours, else a new one
 * frozen at `startAt` (unix seconds; default now: SANDBOX_CLOCK_START picks another day, e.g. the 31st).
 * It is mirrored at once (the customer's clock, for dunning and usage), before its webhooks arrive.
 */
export async function ensureTestClock(stripe: Stripe, em: EntityManager, startAt?: number): Promise<string> {
  const remembered = await readSyncState(em, STATE_TEST_CLOCK);
  if (remembered) {
    try {
      const clock = await stripe.testHelpers.testClocks.retrieve(remembered);
      if (clock.status !== 'internal_failure' && !(clock as { deleted?: boolean }).deleted) {
        await mirrorTestClock(em, clock);
        return clock.id;
      }
    } catch (err) {
      if (!isResourceMissing(err)) throw err;
    }
  }
  let found: Stripe.TestHelpers.TestClock | undefined;
  for await (const clock of stripe.testHelpers.testClocks.list({ limit: 100 })) {
    if (clock.name === SANDBOX_TEST_CLOCK_NAME && clock.status !== 'internal_failure') {
      found = clock;
      break;
    }
  }
  const clock =
    found ??
    (await stripe.testHelpers.testClocks.create({
      frozen_time: startAt ?? Math.floor(Date.now() / 1000),
      name: SANDBOX_TEST_CLOCK_NAME,
    }));
  await mirrorTestClock(em, clock);
  await writeSyncState(em, STATE_TEST_CLOCK, clock.id);
  return clock.id;
}

/** For /readyz: one cheap read, no retries, a short timeout. Never throws. */
export async function checkStripe(stripe: Stripe, timeoutMs = 3000): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    await stripe.products.list({ limit: 1 }, { maxNetworkRetries: 0, timeout: timeoutMs });
    return { ok: true };
  } catch (err) {
    const e = err as { type?: string; statusCode?: number };
    return { ok: false, error: e.statusCode ? `Stripe answered ${e.statusCode}` : 'Stripe unreachable' };
  }
}

export async function prepareStripe(
  config: StripeConfig,
  orm: HasEntityManager,
  opts: PrepareStripeOptions = {},
): Promise<PreparedStripe> {
  const catalog = opts.catalog ?? loadCatalog(config.billingCatalog);
  const em = orm.em.fork();
  const { secretKey, apiBase, webhookSecret, emulatorPort } = config.stripe;

  if (secretKey) {
    const stripe = createStripeClient({ secretKey, apiBase, timeoutMs: opts.timeoutMs });
    // Live: read what the catalog maps to and mirror it; writing to a real account is `setup`'s job.
    const catalogReport = await syncCatalog(stripe, catalog, { dryRun: true });
    if (catalogReport.changed > 0) {
      logger.warn(
        { pending: catalogReport.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.action} ${i.kind} ${i.key}`) },
        'Stripe does not match the plan catalog; run `billing-gateway setup`',
      );
    }
    await mirrorCatalog(em, catalogReport);
    return { stripe, mode: 'live', webhookSecret, catalogReport, close: async () => {} };
  }

  let emulator: Awaited<ReturnType<StartEmulator>> | null = null;
  let base = apiBase;
  if (!base) {
    // Imported lazily: a live deployment never loads the emulator.
    const { startEmulator } = (await import('@billing-gateway/stripe-emulator')) as { startEmulator: StartEmulator };
    try {
      emulator = await startEmulator({
        port: emulatorPort,
        dataDir: join(config.dataDir, 'emulator'),
        ...(webhookSecret ? { webhookSecret } : {}),
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'EADDRINUSE') {
        throw new Error(
          `STRIPE_EMULATOR_PORT: port ${emulatorPort} is in use; choose another port, or set STRIPE_API_BASE=http://127.0.0.1:${emulatorPort} to use the emulator running there`,
        );
      }
      throw err;
    }
    base = emulator.url;
  }
  try {
    const stripe = createStripeClient({ secretKey: SANDBOX_SECRET_KEY, apiBase: base, timeoutMs: opts.timeoutMs });
    const catalogReport = await syncCatalog(stripe, catalog);
    await mirrorCatalog(em, catalogReport);
    const webhookUrl = opts.webhookUrl ?? `${config.publicUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}`;
    const endpoint = await ensureWebhookEndpoint(stripe, em, webhookUrl, webhookSecret);
    const testClockId = await ensureTestClock(stripe, em, config.stripe.sandboxClockStart);
    const started = emulator;
    return {
      stripe,
      mode: 'sandbox',
      emulatorUrl: base,
      webhookSecret: endpoint.secret,
      webhookEndpointId: endpoint.id,
      testClockId,
      catalogReport,
      close: async () => {
        await started?.close();
      },
    };
  } catch (err) {
    await emulator?.close();
    throw err;
  }
}
