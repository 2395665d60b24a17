/**
 * `POST /v1/keys/verify`, the REST form of `Query.verifyApiKey` for backends in front of their API:
 * JSON `{ key, cost?, requestId? }` → 200 with the verification for every outcome; 401 without a
 * service or admin token; 400 for a body that is not a JSON object, lacks `key`, or has a bad `cost`
 * or `requestId`. The body (it holds the secret) is never logged.
 */
import express, { type Express, type RequestHandler } from 'express';
import type { Redis as RedisClient } from 'ioredis';
import { Redis } from 'ioredis';
import type { Authentication } from '../auth/guard.js';
import { apiKeyMetrics } from '../billing/api-keys/metrics.js';
import { KeyChangeFeed } from '../billing/api-keys/change-feed.js';
import { checkVerifyInput } from '../billing/api-keys/verify-input.js';
import { KeyVerifier, type LimitReached } from '../billing/api-keys/verify-api-key.js';
import type { Catalog } from '../catalog.js';
import type { Config } from '../config.js';
import type { Orm } from '../db/orm.js';
import type { Logger } from '../log.js';
import type { SignalBus } from '../events/bus.js';
import type { SignalDraft } from '../billing/signals/derive.js';
import { createSignals } from '../billing/signals/signals.js';

export const KEYS_VERIFY_PATH = '/v1/keys/verify';

class BadVerifyBody extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function mountKeyVerification(app: Express, verifier: KeyVerifier, authenticate: RequestHandler, bodyLimitBytes: number): void {
  app.post(KEYS_VERIFY_PATH, authenticate, express.json({ limit: bodyLimitBytes, type: () => true }), async (req, res, next) => {
    const viewer = (res.locals.auth as Authentication | undefined)?.viewer;
    if (!viewer || (viewer.role !== 'service' && viewer.role !== 'admin')) {
      res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'Send Authorization: Bearer <token> with a service or admin token' } });
      return;
    }
    try {
      const input = checkVerifyInput(req.body, (field, message) => new BadVerifyBody(field, message));
      const answer = JSON.stringify(await verifier.verify(input));
      // Not res.json: its ETag (a hash of every answer) is of no use to a caller that never revalidates.
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(answer);
    } catch (err) {
      if (err instanceof BadVerifyBody) res.status(400).json({ error: { code: 'BAD_REQUEST', field: err.field, message: err.message } });
      else next(err);
    }
  });
}

/** One per key, code and window across replicas (the id derives from this dedup key). */
function limitSignal(e: LimitReached): SignalDraft {
  return {
    dedupKey: `api_key_limit:${e.keyId}:${e.code}:${Math.floor(e.windowEnd.getTime() / 60_000)}`,
    type: 'API_KEY_LIMIT_REACHED',
    occurredAt: new Date(),
    customerId: e.customerId,
    subscriptionId: null,
    invoiceId: null,
    amount: null,
    currency: null,
    data: { keyId: e.keyId, code: e.code, limit: e.limit, plan: e.plan, windowStart: e.windowStart.toISOString(), windowEnd: e.windowEnd.toISOString() },
  };
}

export interface KeyVerification {
  verifier: KeyVerifier;
  close(): Promise<void>;
}

/**
 * The process's verifier: rate limits in Redis when REDIS_URL is set (one connection of its own, so
 * the limit is shared by every replica; concurrent verifications' commands go out in one write,
 * ioredis auto-pipelining), in process otherwise.
 */
export function createKeyVerification(opts: {
  config: Config;
  orm: Orm;
  catalog: Catalog;
  log: Logger;
  redis?: RedisClient;
  onUsageRecorded?: () => void;
  /** Set: a key's first RATE_LIMITED or QUOTA_EXCEEDED in a window is recorded as a BillingEvent and published. */
  bus?: SignalBus;
}): KeyVerification {
  const own = !opts.redis && opts.config.redisUrl ? new Redis(opts.config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: true, enableAutoPipelining: true }) : undefined;
  // ioredis reconnects by itself; without a listener an error would be an unhandled 'error' event.
  own?.on('error', (err: Error) => opts.log.warn({ err: err.message }, 'API key rate-limit redis connection error'));
  const redis = opts.redis ?? own;
  const signals = opts.bus ? createSignals({ bus: opts.bus, config: opts.config, log: opts.log }) : null;
  const signalEm = opts.orm.em.fork();
  const changes = new KeyChangeFeed(opts.orm.em.fork(), opts.log);
  const verifier = new KeyVerifier({
    em: opts.orm.em.fork(),
    changes,
    catalog: opts.catalog,
    log: opts.log,
    ...(redis ? { redis } : {}),
    ...(opts.onUsageRecorded ? { onUsageRecorded: opts.onUsageRecorded } : {}),
    onLimitReached: (e) => {
      apiKeyMetrics.limitSignals.inc({ code: e.code });
      signals?.record(signalEm, [limitSignal(e)]).catch((err: unknown) => opts.log.warn({ err: (err as Error).message }, 'recording an API key limit signal failed'));
    },
    onVerified: (code) => apiKeyMetrics.verifications.inc({ code }),
  });
  changes.start();
  verifier.start();
  return {
    verifier,
    async close() {
      await changes.stop();
      await verifier.stop();
      if (own) await own.quit().catch(() => own.disconnect());
    },
  };
}
