/**
 * The per-key rate limit: a fixed one-minute window per key, counted by rate-limiter-flexible in Redis
 * when the gateway has one (every replica shares the count) or in process. The limit is not the
 * limiter's: it comes from the customer's current plan on each call and is compared here, so a plan
 * change applies to the very next call, on the same window.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export const RATE_WINDOW_SECONDS = 60;

export interface RateWindow {
  /** Calls counted in this window, this one included. */
  count: number;
  resetAt: Date;
}

export class KeyRateLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(redis?: Redis, keyPrefix = 'billing-gateway:apikey-rl') {
    const opts = { points: Number.MAX_SAFE_INTEGER, duration: RATE_WINDOW_SECONDS, keyPrefix };
    this.limiter = redis ? new RateLimiterRedis({ ...opts, storeClient: redis, useRedisPackage: false }) : new RateLimiterMemory(opts);
  }

  /** Counts a call of `keyId`; null when the store failed (the caller fails open). */
  async hit(keyId: string): Promise<RateWindow | null> {
    try {
      const res = await this.limiter.consume(keyId, 1);
      return { count: res.consumedPoints, resetAt: new Date(Date.now() + res.msBeforeNext) };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { count: err.consumedPoints, resetAt: new Date(Date.now() + err.msBeforeNext) };
      return null;
    }
  }

  /** The current window without counting (for replayed answers). */
  async peek(keyId: string): Promise<RateWindow | null> {
    try {
      const res = await this.limiter.get(keyId);
      return res ? { count: res.consumedPoints, resetAt: new Date(Date.now() + res.msBeforeNext) } : null;
    } catch {
      return null;
    }
  }
}
