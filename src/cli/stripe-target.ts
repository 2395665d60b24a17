import { join } from 'node:path';
import type Stripe from 'stripe';
import type { Config } from '../config.js';
import { createStripeClient } from '../stripe/client.js';
import { SANDBOX_SECRET_KEY } from '../stripe/sandbox.js';
import { gatewayApiBase } from './in-gateway.js';

/** Where a CLI command's Stripe calls go, and how to let go of it afterwards. */
export interface StripeTarget {
  stripe: Stripe;
  /** 'stripe': the real API; 'emulator': an emulator already running at `apiBase`; 'in-process': one started for this command. */
  kind: 'stripe' | 'emulator' | 'in-process';
  apiBase?: string;
  close(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/v1/products?limit=1`, {
      headers: { authorization: `Bearer ${SANDBOX_SECRET_KEY}` },
      signal: AbortSignal.timeout(1500),
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * STRIPE_SECRET_KEY → Stripe (or `apiBase` when given); else an emulator: `apiBase`, the one a
 * sandbox gateway runs on STRIPE_EMULATOR_PORT, or (nothing listening) one started in-process on
 * the same data directory the gateway's sandbox uses, so the result persists.
 */
export async function resolveStripeTarget(config: Pick<Config, 'stripe' | 'dataDir'>, apiBaseFlag?: string): Promise<StripeTarget> {
  const apiBase = apiBaseFlag ?? config.stripe.apiBase ?? gatewayApiBase();
  const key = config.stripe.secretKey;
  if (key) {
    return { stripe: createStripeClient({ secretKey: key, apiBase }), kind: apiBase ? 'emulator' : 'stripe', apiBase, close: async () => {} };
  }
  if (apiBase) {
    return { stripe: createStripeClient({ secretKey: SANDBOX_SECRET_KEY, apiBase }), kind: 'emulator', apiBase, close: async () => {} };
  }
  const local = `http://127.0.0.1:${config.stripe.emulatorPort}`;
  if (config.stripe.emulatorPort !== 0 && (await answers(local))) {
    return { stripe: createStripeClient({ secretKey: SANDBOX_SECRET_KEY, apiBase: local }), kind: 'emulator', apiBase: local, close: async () => {} };
  }
  const { startEmulator } = await import('@billing-gateway/stripe-emulator');
  const emulator = await startEmulator({ port: 0, dataDir: join(config.dataDir, 'emulator') });
  return {
    stripe: createStripeClient({ secretKey: SANDBOX_SECRET_KEY, apiBase: emulator.url }),
    kind: 'in-process',
    apiBase: emulator.url,
    close: () => emulator.close(),
  };
}
