/**
 * API keys against the gateway over HTTP, the emulator behind it and a real database: key management
 * (who may touch which key, roll, revoke, idempotency) and verification (every code in the contract's
 * order, the per-plan rate limit, quotas with cost, requestId counted once, plan changes and cancels).
 */
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../../src/db/query-observer.js';
import { startLifecycleGateway, type LifecycleGateway } from '../lifecycle/harness.js';
import { errorOf, subscribeCustomer } from '../usage/support.js';
import { catalogWithQuotaPlan, CREATE, KEYS, REVOKE, ROLL, verify, verifyHttp, VERIFY_GQL } from './support.js';
import { eventually } from '../support/eventually.js';

let gw: LifecycleGateway;
let admin: string;
let service: string;

beforeAll(async () => {
  gw = await startLifecycleGateway({ BILLING_CATALOG: catalogWithQuotaPlan() });
  admin = await gw.token('ops', { role: 'admin' });
  service = await gw.token('backend', { role: 'service' });
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

async function keyFor(token: string, name = 'k', extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string; prefix: string }> {
  const r = await gw.gql(CREATE, { input: { name, ...extra } }, token);
  expect(r.errors).toBeUndefined();
  const { secret, apiKey } = r.data!.createApiKey;
  return { id: apiKey.id, secret, prefix: apiKey.prefix };
}

async function ledgerSum(customerId: string): Promise<number> {
  const rows = await gw.orm.em.getConnection().execute<{ n: string | null }[]>(`select sum(quantity) as n from usage_records where customer_id = ?`, [customerId]);
  return Number(rows[0]!.n ?? 0);
}

describe('key management', () => {
  it('shows the secret once, stores only its SHA-256, and a repeated idempotencyKey is CONFLICT with the key id', async () => {
    const { token, customerId } = await subscribeCustomer(gw, 'km_owner', 'basic_monthly');
    const r = await gw.gql(CREATE, { input: { name: 'server', idempotencyKey: 'create-1' } }, token);
    expect(r.errors).toBeUndefined();
    const { secret, apiKey } = r.data!.createApiKey;
    expect(secret).toMatch(/^bg_test_[0-9A-Za-z]{32}$/);
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.customer.id).toBe(customerId);
    const rows = await gw.orm.em.getConnection().execute<Record<string, unknown>[]>(`select * from api_keys where id = ?`, [apiKey.id]);
    expect(JSON.stringify(rows)).not.toContain(secret);
    const { createHash } = await import('node:crypto');
    expect(rows[0]!.hash).toBe(createHash('sha256').update(secret).digest('hex'));

    const again = await gw.gql(CREATE, { input: { name: 'server', idempotencyKey: 'create-1' } }, token);
    expect(errorOf(again)).toMatchObject({ code: 'CONFLICT', apiKeyId: apiKey.id });
    expect(JSON.stringify(again)).not.toContain(secret);
    const list = await gw.gql(KEYS, {}, token);
    expect(list.data!.customer.apiKeys.map((k: { id: string }) => k.id)).toEqual([apiKey.id]);
    // A later response never carries the secret.
    expect(JSON.stringify(list)).not.toContain(secret);
  });

  it('a customer cannot see, roll or revoke another customer’s keys; an admin manages anyone’s', async () => {
    const a = await subscribeCustomer(gw, 'km_a', 'basic_monthly');
    const b = await subscribeCustomer(gw, 'km_b', 'basic_monthly');
    const keyA = await keyFor(a.token, 'a-key');
    expect(errorOf(await gw.gql(REVOKE, { id: keyA.id }, b.token))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(ROLL, { id: keyA.id }, b.token))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(KEYS, { id: a.customerId }, b.token))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(CREATE, { input: { name: 'x', customerId: a.customerId } }, b.token))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(CREATE, { input: { name: 'x', customerId: 'km_a' } }, b.token))?.code).toBe('FORBIDDEN');
    // Still valid: nothing b did touched it.
    expect((await verify(gw.url, service, keyA.secret)).code).toBe('VALID');

    const byAdmin = await gw.gql(CREATE, { input: { name: 'ops-made', customerId: 'km_b' } }, admin);
    expect(byAdmin.errors).toBeUndefined();
    expect(byAdmin.data!.createApiKey.apiKey.customer.id).toBe(b.customerId);
    expect(errorOf(await gw.gql(CREATE, { input: { name: 'x' } }, admin))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'customerId' });
    const revoked = await gw.gql(REVOKE, { id: keyA.id }, admin);
    expect(revoked.data!.revokeApiKey.revokedAt).not.toBeNull();
  });

  it('a service token may only verify keys', async () => {
    const { token } = await subscribeCustomer(gw, 'km_service', 'basic_monthly');
    const key = await keyFor(token);
    expect((await gw.gql(VERIFY_GQL, { key: key.secret }, service)).data!.verifyApiKey.code).toBe('VALID');
    for (const q of ['{ plans { id } }', '{ customers { totalCount } }', '{ customer(id: "km_service") { id } }', '{ subscriptions { id } }']) {
      expect(errorOf(await gw.gql(q, {}, service))?.code).toBe('FORBIDDEN');
    }
    expect(errorOf(await gw.gql(CREATE, { input: { name: 'x', customerId: 'km_service' } }, service))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(REVOKE, { id: key.id }, service))?.code).toBe('FORBIDDEN');
    // Customers may not verify keys.
    expect(errorOf(await gw.gql(VERIFY_GQL, { key: key.secret }, token))?.code).toBe('FORBIDDEN');
    expect((await verifyHttp(gw.url, token, { key: key.secret })).status).toBe(401);
  });

  it('roll: the old secret stops at once, the new one works on the same key; revoke: REVOKED, still listed', async () => {
    const { token } = await subscribeCustomer(gw, 'km_roll', 'basic_monthly');
    const key = await keyFor(token);
    expect((await verify(gw.url, service, key.secret)).code).toBe('VALID');
    const rolled = await gw.gql(ROLL, { id: key.id, idempotencyKey: 'roll-1' }, token);
    expect(rolled.errors).toBeUndefined();
    const fresh = rolled.data!.rollApiKey.secret as string;
    expect(fresh).not.toBe(key.secret);
    expect(rolled.data!.rollApiKey.apiKey.id).toBe(key.id);
    expect((await verify(gw.url, service, key.secret)).code).toBe('NOT_FOUND');
    expect(await verify(gw.url, service, fresh)).toMatchObject({ code: 'VALID', keyId: key.id });
    expect(errorOf(await gw.gql(ROLL, { id: key.id, idempotencyKey: 'roll-1' }, token))).toMatchObject({ code: 'CONFLICT', apiKeyId: key.id });
    expect((await verify(gw.url, service, fresh)).code).toBe('VALID');

    await gw.gql(REVOKE, { id: key.id }, token);
    expect(await verify(gw.url, service, fresh)).toMatchObject({ valid: false, code: 'REVOKED', keyId: key.id });
    const list = await gw.gql(KEYS, {}, token);
    expect(list.data!.customer.apiKeys[0].revokedAt).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(fresh);
  });
});

describe('verification', () => {
  it('answers 200 for every outcome, 401 without a service or admin token, 400 for a bad body', async () => {
    expect((await verifyHttp(gw.url, null, { key: 'x' })).status).toBe(401);
    expect(await verifyHttp(gw.url, service, { key: 'bg_test_nothing' })).toMatchObject({ status: 200, body: { valid: false, code: 'NOT_FOUND', keyId: null, rateLimit: null } });
    expect((await verifyHttp(gw.url, admin, { key: 'bg_test_nothing' })).status).toBe(200);
    expect((await verifyHttp(gw.url, service, 'not json')).status).toBe(400);
    expect((await verifyHttp(gw.url, service, { cost: 1 })).status).toBe(400);
    for (const cost of [0, -1, 1.5, '2']) expect((await verifyHttp(gw.url, service, { key: 'k', cost })).status).toBe(400);
    expect(errorOf(await gw.gql(VERIFY_GQL, { key: 'k', cost: 0 }, service))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'cost' });
  });

  it('the route served ahead of express answers every odd request as the express route does', async () => {
    const { token, customerId } = await subscribeCustomer(gw, 'v_fast', 'pro_monthly');
    const key = await keyFor(token);
    const valid = JSON.stringify({ key: key.secret, requestId: 'fast-1' });
    const cases: { name: string; headers?: Record<string, string>; body?: Buffer | string; auth?: string | null }[] = [
      { name: 'valid', body: valid },
      { name: 'no token', body: valid, auth: null },
      { name: 'forged token', body: valid, auth: 'Bearer not.a.token' },
      { name: 'malformed header', body: valid, auth: 'Token x' },
      { name: 'Content-Length: 0', body: '' },
      { name: 'whitespace before the object', body: ` \n\t${valid}` },
      { name: 'byte order mark', body: `\ufeff${valid}` },
      { name: 'not an object', body: '5' },
      { name: 'an array', body: '[1]' },
      { name: 'broken JSON', body: '{"key": ' },
      { name: 'bad cost', body: JSON.stringify({ key: key.secret, cost: 0 }) },
      { name: 'too large', body: JSON.stringify({ key: 'k', pad: 'x'.repeat(1024 * 1024) }) },
      { name: 'no content type', body: valid, headers: { 'content-type': '' } },
      { name: 'gzip', body: gzipSync(valid), headers: { 'content-encoding': 'gzip' } },
      { name: 'latin1', body: valid, headers: { 'content-type': 'application/json; charset=latin1' } },
      { name: 'chunked', body: valid, headers: { 'transfer-encoding': 'chunked' } },
    ];
    for (const c of cases) {
      const auth = c.auth === undefined ? `Bearer ${service}` : c.auth;
      // A query string keeps a request on the express route (the fast path takes the bare path only).
      const fast = await rawPost(`${gw.url}/v1/keys/verify`, auth, c.body, c.headers);
      const routed = await rawPost(`${gw.url}/v1/keys/verify?via=express`, auth, c.body, c.headers);
      expect({ case: c.name, status: fast.status, body: fast.body }).toEqual({ case: c.name, status: routed.status, body: routed.body });
      expect(fast.contentType, c.name).toMatch(/^application\/json/);
    }
    // Both served the same requestId: the second answer was the replay of the first, counted once.
    await eventually('the replayed answer counted in the ledger', () => ledgerSum(customerId), (n) => n > 0);
    expect(await ledgerSum(customerId)).toBe(1);
  });

  it('EXPIRED once the key’s expiresAt passes (wall time)', async () => {
    const { token } = await subscribeCustomer(gw, 'v_expiry', 'basic_monthly');
    const key = await keyFor(token, 'short', { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await verify(gw.url, service, key.secret)).code).toBe('VALID');
    await eventually('EXPIRED', async () => (await verify(gw.url, service, key.secret)).code, (code) => code === 'EXPIRED');
  });

  it('the 61st call in a minute on basic_monthly is RATE_LIMITED and counts nothing', async () => {
    const { token, customerId } = await subscribeCustomer(gw, 'v_rate', 'basic_monthly');
    const key = await keyFor(token);
    const answers = [];
    for (let i = 0; i < 61; i++) answers.push(await verify(gw.url, service, key.secret));
    expect(answers.slice(0, 60).every((a) => a.code === 'VALID')).toBe(true);
    expect(answers[0]).toMatchObject({ plan: 'basic_monthly', externalId: 'v_rate', customerId, rateLimit: { limit: 60, remaining: 59 } });
    expect(answers[59]!.rateLimit!.remaining).toBe(0);
    expect(answers[60]).toMatchObject({ valid: false, code: 'RATE_LIMITED', rateLimit: { limit: 60, remaining: 0 } });
    expect(Date.parse(answers[60]!.rateLimit!.resetAt)).toBeGreaterThan(Date.now());
    expect(answers[60]!.quota).toMatchObject({ limit: null, used: 60, remaining: null });
    await eventually('60 units in the ledger', () => ledgerSum(customerId), (n) => n >= 60);
    expect(await ledgerSum(customerId)).toBe(60);
  });

  it('the same requestId is counted once and gets the same answer', async () => {
    const { token, customerId } = await subscribeCustomer(gw, 'v_request', 'pro_monthly');
    const key = await keyFor(token);
    const first = await verify(gw.url, service, key.secret, { cost: 3, requestId: 'req-1' });
    const again = await Promise.all([1, 2, 3].map(() => verify(gw.url, service, key.secret, { cost: 3, requestId: 'req-1' })));
    const viaGql = (await gw.gql(VERIFY_GQL, { key: key.secret, cost: 3, requestId: 'req-1' }, service)).data!.verifyApiKey;
    expect(first.code).toBe('VALID');
    for (const a of [...again, viaGql]) expect(a).toMatchObject({ code: 'VALID', quota: { used: 3 } });
    await eventually('3 units in the ledger', () => ledgerSum(customerId), (n) => n >= 3);
    await verify(gw.url, service, key.secret, { cost: 2, requestId: 'req-2' });
    await eventually('5 units in the ledger', () => ledgerSum(customerId), (n) => n >= 5);
    expect(await ledgerSum(customerId)).toBe(5);
  });

  it('a quota from the catalog meter limit is enforced with cost, and a refused call counts nothing', async () => {
    const { token, customerId } = await subscribeCustomer(gw, 'v_quota', 'capped_monthly');
    const key = await keyFor(token);
    expect(await verify(gw.url, service, key.secret, { cost: 15 })).toMatchObject({ code: 'VALID', quota: { limit: 20, used: 15, remaining: 5 } });
    expect(await verify(gw.url, service, key.secret, { cost: 6 })).toMatchObject({ code: 'QUOTA_EXCEEDED', valid: false, quota: { limit: 20, used: 15, remaining: 5 } });
    expect(await verify(gw.url, service, key.secret, { cost: 5 })).toMatchObject({ code: 'VALID', quota: { used: 20, remaining: 0 } });
    expect((await verify(gw.url, service, key.secret)).code).toBe('QUOTA_EXCEEDED');
    await eventually('20 units in the ledger', () => ledgerSum(customerId), (n) => n >= 20);
    expect(await ledgerSum(customerId)).toBe(20);
    const plans = await gw.gql(`{ plans { id apiLimits { rateLimitPerMinute quota meter } } }`);
    const limits = Object.fromEntries(plans.data!.plans.map((p: { id: string; apiLimits: unknown }) => [p.id, p.apiLimits]));
    expect(limits).toMatchObject({
      basic_monthly: { rateLimitPerMinute: 60, quota: null, meter: 'api_calls' },
      pro_monthly: { rateLimitPerMinute: 600, quota: null, meter: 'api_calls' },
      pro_yearly: { rateLimitPerMinute: 600, quota: null, meter: 'api_calls' },
      enterprise: { rateLimitPerMinute: null, quota: null, meter: null },
      capped_monthly: { rateLimitPerMinute: 1000, quota: 20, meter: 'api_calls' },
    });
  });

  it('a plan change moves the limits, and a cancel gives NO_SUBSCRIPTION, both within 1 s', async () => {
    const { token } = await subscribeCustomer(gw, 'v_change', 'basic_monthly');
    const key = await keyFor(token);
    expect((await verify(gw.url, service, key.secret)).rateLimit!.limit).toBe(60);
    const subs = await gw.gql(`{ subscriptions { id } }`, {}, token);
    const subscriptionId = subs.data!.subscriptions[0].id as string;

    const changed = await gw.gql(`mutation ($input: ChangePlanInput!) { changePlan(input: $input) { id } }`, { input: { subscriptionId, plan: 'pro_monthly' } }, token);
    expect(changed.errors).toBeUndefined();
    let since = Date.now();
    await eventually('the key to see pro_monthly', () => verify(gw.url, service, key.secret), (v) => v.plan === 'pro_monthly');
    expect(Date.now() - since).toBeLessThan(1000);
    expect((await verify(gw.url, service, key.secret)).rateLimit!.limit).toBe(600);

    const canceled = await gw.gql(`mutation ($input: CancelInput!) { cancel(input: $input) { status } }`, { input: { subscriptionId, atPeriodEnd: false } }, token);
    expect(canceled.errors).toBeUndefined();
    since = Date.now();
    await eventually('NO_SUBSCRIPTION', async () => (await verify(gw.url, service, key.secret)).code, (code) => code === 'NO_SUBSCRIPTION');
    expect(Date.now() - since).toBeLessThan(1000);
    expect(await verify(gw.url, service, key.secret)).toMatchObject({ valid: false, code: 'NO_SUBSCRIPTION', keyId: key.id, rateLimit: null });
  });

  it('a known key costs no key or customer statement, however long it is used, until its customer changes', async () => {
    const { token } = await subscribeCustomer(gw, 'v_cached', 'pro_monthly');
    const key = await keyFor(token);
    expect((await verify(gw.url, service, key.secret)).code).toBe('VALID');
    // Webhook deliveries for the new subscription still rewrite its mirror (each a change): let them end.
    const { customerId } = (await verify(gw.url, service, key.secret)) as { customerId: string };
    await eventually('no key change in the last 500 ms', async () => {
      const rows = await gw.orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from api_key_changes where customer_id = ? and created_at > now() - interval '500 milliseconds'`, [customerId]);
      return Number(rows[0]!.n);
    }, (n) => n === 0);
    await verify(gw.url, service, key.secret);
    const reads: string[] = [];
    // The key by hash, and the customer's access state: what a verification would read without its caches.
    const stop = onQuery(gw.orm, ({ query }) => {
      if (/from api_keys where hash in|status in \('active', 'trialing', 'past_due'\)/.test(query)) reads.push(query);
    });
    try {
      // Longer than any age-based cache limit (0.9 s) would keep them.
      const deadline = Date.now() + 1_500;
      let n = 0;
      while (Date.now() < deadline) {
        // 600 a minute may run out here: RATE_LIMITED reads no more than VALID does.
        expect(['VALID', 'RATE_LIMITED']).toContain((await verify(gw.url, service, key.secret)).code);
        n++;
      }
      expect(n).toBeGreaterThan(10);
      // Nor does a string that cannot be a key (not `bg_live_`/`bg_test_` + 32 base62 characters).
      for (const bad of ['bg_live_unknown1', key.secret.slice(0, -1), `${key.secret}x`, key.secret.replace('bg_', 'sk_')]) {
        expect((await verify(gw.url, service, bad)).code).toBe('NOT_FOUND');
      }
      expect(reads.map((q) => q.slice(0, 60))).toEqual([]);

      // Written straight to the database, as another replica or the CLI would: seen within 1 s.
      await gw.orm.em.getConnection().execute(`update api_keys set revoked_at = now() where id = ?`, [key.id]);
      const since = Date.now();
      await eventually('REVOKED', async () => (await verify(gw.url, service, key.secret)).code, (code) => code === 'REVOKED');
      expect(Date.now() - since).toBeLessThan(1000);
      expect(reads.length).toBeGreaterThan(0);
    } finally {
      stop();
    }
  });

  it('keeps per-key counters by outcome and lastUsedAt, written in batches', async () => {
    const { token } = await subscribeCustomer(gw, 'v_stats', 'capped_monthly');
    const key = await keyFor(token);
    await verify(gw.url, service, key.secret, { cost: 20 });
    await verify(gw.url, service, key.secret);
    await verify(gw.url, service, key.secret);
    await eventually('the counters to be written', async () => {
      const k = (await gw.gql(KEYS, {}, token)).data!.customer.apiKeys[0];
      const counts = Object.fromEntries(k.verifications.map((v: { code: string; count: number }) => [v.code, v.count]));
      return k.lastUsedAt !== null && counts.VALID === 1 && counts.QUOTA_EXCEEDED === 2;
    });
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    expect(metrics).toMatch(/api_key_verifications_total\{code="QUOTA_EXCEEDED"\} [1-9]/);
  });
});

describe('examples/protect-api.mjs', () => {
  it('lets a valid key through, and answers 401, 403 and 429 with Retry-After', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const { PROJECT_ROOT } = await import('../../src/paths.js');
    const { freePort } = await import('../support/gateway-process.js');
    const port = await freePort();
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'examples/protect-api.mjs')], {
      env: { PATH: process.env.PATH, GATEWAY_URL: gw.url, GATEWAY_TOKEN: service, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const api = `http://127.0.0.1:${port}/hello`;
      await eventually('the example to listen', () => fetch(api).then(() => true, () => false));
      const { token } = await subscribeCustomer(gw, 'example_user', 'basic_monthly');
      const key = await keyFor(token);
      const ok = await fetch(api, { headers: { 'x-api-key': key.secret } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ hello: 'world' });
      expect(ok.headers.get('ratelimit-limit')).toBe('60');
      expect((await fetch(api, { headers: { 'x-api-key': 'bg_test_wrong' } })).status).toBe(401);
      for (let i = 0; i < 59; i++) await fetch(api, { headers: { authorization: `Bearer ${key.secret}` } });
      const limited = await fetch(api, { headers: { 'x-api-key': key.secret } });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

      const subs = await gw.gql(`{ subscriptions { id } }`, {}, token);
      await gw.gql(`mutation ($input: CancelInput!) { cancel(input: $input) { status } }`, { input: { subscriptionId: subs.data!.subscriptions[0].id, atPeriodEnd: false } }, token);
      await eventually('403 after the cancel', async () => (await fetch(api, { headers: { 'x-api-key': key.secret } })).status, (status) => status === 403);
    } finally {
      child.kill();
    }
  });
});

/** A POST as given (an empty string is Content-Length: 0); chunked when the headers say so. */
function rawPost(url: string, auth: string | null, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; contentType: string }> {
  return new Promise((resolve, reject) => {
    const chunked = headers['transfer-encoding'] === 'chunked';
    const h: Record<string, string> = { 'content-type': 'application/json', ...headers };
    if (h['content-type'] === '') delete h['content-type'];
    if (auth !== null) h.authorization = auth;
    if (body !== undefined && !chunked) h['content-length'] = String(Buffer.byteLength(body));
    const req = request(url, { method: 'POST', headers: h }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode!, body: parsed, contentType: String(res.headers['content-type'] ?? '') });
      });
    });
    req.on('error', reject);
    if (body !== undefined) {
      if (chunked) {
        const b = Buffer.from(body);
        req.write(b.subarray(0, 5));
        req.write(b.subarray(5));
      } else req.write(body);
    }
    req.end();
  });
}
