/**
 * The per-key rate-limit window in Redis (shared by replicas) and in process: counts, the window's end,
 * a tick's calls counted together, and failing open when Redis fails.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRateLimiter, RATE_WINDOW_SECONDS } from '../../src/billing/api-keys/key-rate-limit.js';
import { freePort } from '../support/gateway-process.js';
import { redisUp, REDIS_TEST_URL } from '../support/redis.js';

const enabled = await redisUp();

describe.skipIf(!enabled)('in Redis', () => {
  let a: Redis;
  let b: Redis;
  const prefix = `test-apikey-rl-${randomUUID()}`;
  beforeAll(() => {
    a = new Redis(REDIS_TEST_URL);
    b = new Redis(REDIS_TEST_URL);
  });
  afterAll(async () => {
    const keys = await a.keys(`${prefix}:*`);
    if (keys.length > 0) await a.del(...keys);
    a.disconnect();
    b.disconnect();
  });

  it('counts each call once in a one-minute window, shared by two connections (replicas)', async () => {
    const one = new KeyRateLimiter(a, prefix);
    const two = new KeyRateLimiter(b, prefix);
    const before = Date.now();
    const first = await one.hit('key_a');
    expect(first!.count).toBe(1);
    expect(first!.resetAt.getTime()).toBeGreaterThan(before + (RATE_WINDOW_SECONDS - 2) * 1000);
    expect(first!.resetAt.getTime()).toBeLessThanOrEqual(Date.now() + RATE_WINDOW_SECONDS * 1000);
    expect((await two.hit('key_a'))!.count).toBe(2);
    expect((await one.hit('key_a'))!.count).toBe(3);
    expect((await two.hit('key_b'))!.count).toBe(1);
    // The key and its TTL are rate-limiter-flexible's, which the version before used.
    expect(Number(await a.get(`${prefix}:key_a`))).toBe(3);
    expect(await a.ttl(`${prefix}:key_a`)).toBeGreaterThan(RATE_WINDOW_SECONDS - 3);
  });

  it("counts a tick's calls together, each exactly once, beyond one script call's keys", async () => {
    const limiter = new KeyRateLimiter(a, prefix);
    const ids = ['t1', 't2', 't3'];
    const calls = Array.from({ length: 1_300 }, (_, i) => ids[i % 3]!);
    const windows = await Promise.all(calls.map((id) => limiter.hit(id)));
    for (const id of ids) {
      const counts = windows.filter((_, i) => calls[i] === id).map((w) => w!.count);
      expect(counts).toEqual(Array.from({ length: counts.length }, (_, i) => i + 1));
    }
    expect(Number(await a.get(`${prefix}:t1`))).toBe(434);
  });

  it('answers null (the caller fails open) when Redis fails', async () => {
    const down = new Redis({ port: await freePort(), host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    down.on('error', () => undefined);
    const limiter = new KeyRateLimiter(down, prefix);
    expect(await limiter.hit('key_down')).toBeNull();
    down.disconnect();
  });
});

it('counts in process without Redis', async () => {
  const limiter = new KeyRateLimiter();
  expect((await limiter.hit('m'))!.count).toBe(1);
  expect((await limiter.hit('m'))!.count).toBe(2);
  expect((await limiter.hit('n'))!.count).toBe(1);
});
