import { Redis } from 'ioredis';

/** The Redis the replica tests share: REDIS_TEST_URL or the local default. */
export const REDIS_TEST_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

/** Whether Redis answers at `url` (tests that need it are skipped otherwise). */
export async function redisUp(url = REDIS_TEST_URL): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
