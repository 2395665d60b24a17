/**
 * The per-key rate limit: a fixed one-minute window per key, counted in Redis when the gateway has one
 * (every replica shares the count) or in process (rate-limiter-flexible's memory limiter). The limit is
 * not the store's: it comes from the customer's current plan on each call and is compared here, so a plan
 * change applies to the very next call, on the same window.
 *
 * With Redis, the calls of one tick go out as one script call over all their keys: one command, one
 * reply and one promise per call, where rate-limiter-flexible with ioredis's auto-pipelining made a
 * pipeline, a script command, an argument array and several promises per call (the allocations that
 * filled the young generation on the hot path). The script and the keys are rate-limiter-flexible's
 * (`billing-gateway:apikey-rl:<keyId>`, an integer with the window as its TTL), so replicas of the
 * version before share the counts during a rolling deploy.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export const RATE_WINDOW_SECONDS = 60;
const KEY_PREFIX = 'billing-gateway:apikey-rl';

export interface RateWindow {
  /** Calls counted in this window, this one included. */
  count: number;
  resetAt: Date;
}

/** For each key: start the window if there is none, count the call, answer { count, ms left }, flattened. */
const HITS_SCRIPT = `local out = {}
for i, key in ipairs(KEYS) do
  redis.call('set', key, 0, 'EX', ARGV[1], 'NX')
  local consumed = redis.call('incrby', key, 1)
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, ARGV[1])
    ttl = 1000 * ARGV[1]
  end
  out[2 * i - 1] = consumed
  out[2 * i] = ttl
end
return out`;

/** Keys counted by one script call at most (a tick's calls beyond it go in further calls). */
const MAX_KEYS_PER_CALL = 500;

type Waiter = (window: RateWindow | null) => void;
type HitsCommand = (...args: (string | number)[]) => Promise<number[]>;

export class KeyRateLimiter {
  private readonly memory: RateLimiterMemory | null;
  private readonly hits: HitsCommand | null;
  private keys: string[] = [];
  private waiters: Waiter[] = [];

  constructor(
    redis?: Redis,
    private readonly keyPrefix = KEY_PREFIX,
  ) {
    this.memory = redis ? null : new RateLimiterMemory({ points: Number.MAX_SAFE_INTEGER, duration: RATE_WINDOW_SECONDS });
    if (redis) {
      const commands = redis as unknown as Record<string, HitsCommand | undefined>;
      if (!commands.apiKeyRateHits) redis.defineCommand('apiKeyRateHits', { lua: HITS_SCRIPT });
      this.hits = commands.apiKeyRateHits!.bind(redis);
    } else this.hits = null;
  }

  /** Counts a call of `keyId`; null when the store failed (the caller fails open). */
  hit(keyId: string): Promise<RateWindow | null> {
    if (!this.hits) return this.hitInMemory(keyId);
    return new Promise((resolve) => {
      if (this.keys.length === 0) process.nextTick(() => this.send());
      this.keys.push(`${this.keyPrefix}:${keyId}`);
      this.waiters.push(resolve);
    });
  }

  private send(): void {
    const keys = this.keys;
    const waiters = this.waiters;
    this.keys = [];
    this.waiters = [];
    for (let from = 0; from < keys.length; from += MAX_KEYS_PER_CALL) {
      const to = Math.min(keys.length, from + MAX_KEYS_PER_CALL);
      const part = from === 0 && to === keys.length ? keys : keys.slice(from, to);
      this.hits!(part.length, ...part, RATE_WINDOW_SECONDS).then(
        (reply) => {
          const now = Date.now();
          for (let i = from; i < to; i++) {
            const k = 2 * (i - from);
            const count = Number(reply[k]);
            const ttl = Number(reply[k + 1]);
            waiters[i]!(Number.isFinite(count) && Number.isFinite(ttl) ? { count, resetAt: new Date(now + ttl) } : null);
          }
        },
        () => {
          for (let i = from; i < to; i++) waiters[i]!(null);
        },
      );
    }
  }

  private async hitInMemory(keyId: string): Promise<RateWindow | null> {
    try {
      const res = await this.memory!.consume(keyId, 1);
      return { count: res.consumedPoints, resetAt: new Date(Date.now() + res.msBeforeNext) };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { count: err.consumedPoints, resetAt: new Date(Date.now() + err.msBeforeNext) };
      return null;
    }
  }
}
