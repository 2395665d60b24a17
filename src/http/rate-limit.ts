/**
 * Request rate limits: per token subject for authenticated calls, per client address for calls
 * without a valid token. In memory (per replica) by default; pass a Redis client to share the
 * counters between replicas.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Viewer } from '../auth/tokens.js';
import type { Config } from '../config.js';
import { rateLimitedTotal } from './metrics.js';

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RequestRateLimiter {
  consume(viewer: Viewer | null, address: string | undefined): Promise<RateLimitDecision>;
}

function limiter(points: number, duration: number, keyPrefix: string, redis?: Redis): RateLimiterAbstract | null {
  if (points <= 0) return null;
  return redis
    ? new RateLimiterRedis({ storeClient: redis, points, duration, keyPrefix: `rl:${keyPrefix}`, useRedisPackage: false })
    : new RateLimiterMemory({ points, duration, keyPrefix });
}

export function createRequestRateLimiter(config: Pick<Config, 'rateLimit'>, redis?: Redis): RequestRateLimiter {
  const { perToken, perAddress, windowSeconds } = config.rateLimit;
  const byToken = limiter(perToken, windowSeconds, 'token', redis);
  const byAddress = limiter(perAddress, windowSeconds, 'addr', redis);
  return {
    async consume(viewer, address) {
      const [rl, key, kind] = viewer ? [byToken, `${viewer.role}:${viewer.sub}`, 'token'] : [byAddress, address ?? 'unknown', 'address'];
      if (!rl) return { allowed: true };
      try {
        await rl.consume(key);
        return { allowed: true };
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          rateLimitedTotal.inc({ key: kind });
          return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
        }
        // The store failed (Redis down): fail open rather than take the API down with it.
        return { allowed: true };
      }
    },
  };
}
