/** What the API key tests share: GraphQL documents and a verify call over HTTP. */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_PATH } from '../../src/catalog.js';

export const CREATE = /* GraphQL */ `
  mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name prefix createdAt expiresAt revokedAt lastUsedAt customer { id } } } }
`;
export const ROLL = /* GraphQL */ `mutation ($id: ID!, $idempotencyKey: String) { rollApiKey(id: $id, idempotencyKey: $idempotencyKey) { secret apiKey { id prefix } } }`;
export const REVOKE = /* GraphQL */ `mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
export const KEYS = /* GraphQL */ `query ($id: ID) { customer(id: $id) { id apiKeys { id name prefix revokedAt lastUsedAt verifications { code count } } } }`;
export const VERIFY_GQL = /* GraphQL */ `
  query ($key: String!, $cost: Int, $requestId: String) {
    verifyApiKey(key: $key, cost: $cost, requestId: $requestId) { valid code keyId customerId externalId plan rateLimit { limit remaining resetAt } quota { limit used remaining resetAt } }
  }
`;

export interface Verification {
  valid: boolean;
  code: string;
  keyId: string | null;
  customerId: string | null;
  externalId: string | null;
  plan: string | null;
  rateLimit: { limit: number; remaining: number; resetAt: string } | null;
  quota: { limit: number | null; used: number; remaining: number | null; resetAt: string } | null;
}

/** POST /v1/keys/verify; returns the status and the parsed body. */
export async function verifyHttp(url: string, token: string | null, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/keys/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

export async function verify(url: string, token: string, key: string, extra: { cost?: number; requestId?: string } = {}): Promise<Verification> {
  const r = await verifyHttp(url, token, { key, ...extra });
  if (r.status !== 200) throw new Error(`verify: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as Verification;
}

/**
 * The default catalog plus `metered_capped` ($2/month): api_calls with 10 included and a hard cap
 * (quota) of 20, 1,000 calls a minute.
 */
export function catalogWithQuotaPlan(): string {
  const catalog = JSON.parse(readFileSync(DEFAULT_CATALOG_PATH, 'utf8')) as { products: unknown[]; plans: unknown[] };
  catalog.products.push({ id: 'capped', name: 'Capped' });
  catalog.plans.push({
    id: 'capped_monthly',
    name: 'Capped',
    product: 'capped',
    price: { amount: 200, currency: 'usd' },
    interval: 'month',
    perSeat: false,
    selfServe: true,
    features: ['API access'],
    apiRateLimitPerMinute: 1000,
    meters: [{ meter: 'api_calls', included: 10, unitAmountDecimal: '0.5', limit: 20 }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'bg-keys-catalog-'));
  const path = join(dir, 'catalog.json');
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}

