/**
 * Two compiled gateway processes on one PostgreSQL and one Redis share one rate limit per key; the
 * secret never appears in either process's log output (debug level), nor in a later response.
 * (PGlite is single-process, so this needs TEST_DATABASE_URL; Redis at REDIS_TEST_URL or the local default.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/tokens.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { redisUp, REDIS_TEST_URL } from '../support/redis.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { CREATE, KEYS, ROLL, verify, type Verification } from './support.js';
import { eventually } from '../support/eventually.js';

const redisUrl = REDIS_TEST_URL;
const secret = 'keys-replica-test-secret-'.padEnd(40, 'x');

const enabled = Boolean(process.env.TEST_DATABASE_URL) && (await redisUp());

async function gql(gw: GatewayProcess, query: string, variables: Record<string, unknown>, token: string): Promise<{ data?: any; errors?: any[] }> {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

describe.skipIf(!enabled)('API keys on two gateway replicas (one PostgreSQL, one Redis)', () => {
  let db: TestDatabase;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = { DATABASE_URL: db.env.DATABASE_URL, REDIS_URL: redisUrl, AUTH_JWT_SECRET: secret, LOG_LEVEL: 'debug', RATE_LIMIT_PER_TOKEN: '0', RATE_LIMIT_PER_ADDRESS: '0' };
    dirs.push(mkdtempSync(join(tmpdir(), 'gw-keys-a-')), mkdtempSync(join(tmpdir(), 'gw-keys-b-')));
    a = await startGatewayProcess(shared, { dataDir: dirs[0] });
    b = await startGatewayProcess({ ...shared, STRIPE_API_BASE: a.emulatorUrl }, { dataDir: dirs[1] });
  }, 120_000);

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await db?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('shares one rate limit per key, and never logs or repeats the secret', async () => {
    const customer = await signDevToken({ sub: 'replica_keys', email: 'replica_keys@example.com' }, secret);
    const service = await signDevToken({ sub: 'backend', role: 'service' }, secret);
    const sub = await gql(a, `mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { id } } }`, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, customer);
    expect(sub.errors).toBeUndefined();
    const created = await gql(a, CREATE, { input: { name: 'replicated' } }, customer);
    expect(created.errors).toBeUndefined();
    const key = created.data!.createApiKey.secret as string;

    // 60 a minute on basic_monthly, spread over both replicas: the 61st, on either, is refused.
    const answers: Verification[] = [];
    for (let i = 0; i < 60; i++) answers.push(await verify(i % 2 ? b.url : a.url, service, key, { requestId: `r-${i}` }));
    expect(answers.every((x) => x.code === 'VALID')).toBe(true);
    expect((await verify(a.url, service, key)).code).toBe('RATE_LIMITED');
    expect((await verify(b.url, service, key)).code).toBe('RATE_LIMITED');
    const used = async () => (await gql(b, `{ customer { usage(meter: "api_calls") { quantity } } }`, {}, customer)).data!.customer.usage[0].quantity as number;
    await eventually('60 units used', used, (n) => n >= 60);
    expect(await used()).toBe(60);

    const rolled = await gql(b, ROLL, { id: created.data!.createApiKey.apiKey.id }, customer);
    const fresh = rolled.data!.rollApiKey.secret as string;
    const list = await gql(a, KEYS, {}, customer);
    expect(JSON.stringify(list)).not.toContain(key);
    expect(JSON.stringify(list)).not.toContain(fresh);
    await a.stop();
    await b.stop();
    for (const out of [a.output(), b.output()]) {
      expect(out.length).toBeGreaterThan(0);
      expect(out).not.toContain(key);
      expect(out).not.toContain(fresh);
      expect(out).not.toContain(key.slice(8));
    }
  });
});
