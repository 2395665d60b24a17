import Stripe from 'stripe';

export interface StripeClientOptions {
  secretKey: string;
  /** e.g. `http://127.0.0.1:12111`: an emulator (or stripe-mock) instead of api.stripe.com. */
  apiBase?: string;
  /** Per-request timeout in ms (the SDK's default is 80 s, far too long behind a GraphQL request). */
  timeoutMs?: number;
  /** Automatic retries on network errors, 409, 429 and 5xx, with backoff and idempotency keys. */
  maxNetworkRetries?: number;
}

export const DEFAULT_STRIPE_TIMEOUT_MS = 10_000;
export const DEFAULT_STRIPE_RETRIES = 2;

/** Host/port/protocol of an API base URL, as the SDK's config wants them. */
export function parseApiBase(apiBase: string): { host: string; port: number; protocol: 'http' | 'https' } {
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    throw new Error(`STRIPE_API_BASE: expected a URL such as http://127.0.0.1:12111, got "${apiBase}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`STRIPE_API_BASE: expected an http:// or https:// URL, got "${url.protocol}"`);
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port ? Number(url.port) : protocol === 'https' ? 443 : 80;
  return { host: url.hostname, port, protocol };
}

/**
 * The official SDK on its pinned API version. The key goes to the SDK only: it is never logged
 * or put into an error message here.
 */
export function createStripeClient(opts: StripeClientOptions): Stripe {
  if (!opts.secretKey) throw new Error('STRIPE_SECRET_KEY: a secret key is required to build the Stripe client');
  const config: ConstructorParameters<typeof Stripe>[1] = {
    apiVersion: Stripe.API_VERSION,
    maxNetworkRetries: opts.maxNetworkRetries ?? DEFAULT_STRIPE_RETRIES,
    timeout: opts.timeoutMs ?? DEFAULT_STRIPE_TIMEOUT_MS,
    telemetry: false,
    appInfo: { name: 'billing-gateway' },
  };
  if (opts.apiBase) Object.assign(config!, parseApiBase(opts.apiBase));
  return new Stripe(opts.secretKey, config);
}

/** True for Stripe's "no such object" answer (404 / resource_missing). */
export function isResourceMissing(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: string; type?: string } | null;
  return !!e && (e.statusCode === 404 || e.code === 'resource_missing');
}

export type { Stripe };
