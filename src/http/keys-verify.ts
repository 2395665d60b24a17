/**
 * `POST /v1/keys/verify`, the REST form of `Query.verifyApiKey` for backends in front of their API:
 * JSON `{ key, cost?, requestId? }` → 200 with the verification for every outcome; 401 without a
 * service or admin token; 400 for a body that is not a JSON object, lacks `key`, or has a bad `cost`
 * or `requestId`. The body (it holds the secret) is never logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import type { Redis as RedisClient } from 'ioredis';
import { Redis } from 'ioredis';
import type { Authentication } from '../auth/guard.js';
import type { TokenVerifier, Viewer } from '../auth/tokens.js';
import { apiKeyMetrics, countVerification } from '../billing/api-keys/metrics.js';
import { KeyChangeFeed } from '../billing/api-keys/change-feed.js';
import { checkVerifyInput } from '../billing/api-keys/verify-input.js';
import { KeyVerifier, type LimitReached, type VerificationView } from '../billing/api-keys/verify-api-key.js';
import type { Catalog } from '../catalog.js';
import type { Config } from '../config.js';
import type { Orm } from '../db/orm.js';
import type { Logger } from '../log.js';
import type { SignalDraft, Signals } from '../billing/signals/index.js';
import { errorJson, INTERNAL, JSON_TYPE, MALFORMED, NOT_JSON, parseStrictJson, readBodyText } from './fast-path-bodies.js';
import { httpRequestDuration, httpRequestsTotal } from './metrics.js';

export const KEYS_VERIFY_PATH = '/v1/keys/verify';

class BadVerifyBody extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const UNAUTHENTICATED_BODY = JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'Send Authorization: Bearer <token> with a service or admin token' } });

const mayVerify = (viewer: Viewer | null | undefined): boolean => !!viewer && (viewer.role === 'service' || viewer.role === 'admin');
const badBody = (err: BadVerifyBody) => JSON.stringify({ error: { code: 'BAD_REQUEST', field: err.field, message: err.message } });

/**
 * The express route: what the fast path below hands over (compressed bodies, charsets other than
 * UTF-8, query strings), with the same answers.
 */
export function mountKeyVerification(app: Express, verifier: KeyVerifier, authenticate: RequestHandler, bodyLimitBytes: number): void {
  app.post(KEYS_VERIFY_PATH, authenticate, express.json({ limit: bodyLimitBytes, type: () => true }), async (req, res, next) => {
    if (!mayVerify((res.locals.auth as Authentication | undefined)?.viewer)) {
      res.status(401).setHeader('content-type', JSON_TYPE).end(UNAUTHENTICATED_BODY);
      return;
    }
    try {
      const input = checkVerifyInput(req.body, (field, message) => new BadVerifyBody(field, message));
      const answer = JSON.stringify(await verifier.verify(input));
      // Not res.json: its ETag (a hash of every answer) is of no use to a caller that never revalidates.
      res.setHeader('content-type', JSON_TYPE);
      res.end(answer);
    } catch (err) {
      if (err instanceof BadVerifyBody) res.status(400).setHeader('content-type', JSON_TYPE).end(badBody(err));
      else next(err);
    }
  });
}


/** Prometheus labels of this route, one object per status (no object per request). */
const LABELS: Record<number, { method: string; route: string; status: string }> = {};
const labelsOf = (status: number) => (LABELS[status] ??= { method: 'POST', route: KEYS_VERIFY_PATH, status: String(status) });

/**
 * `POST /v1/keys/verify` served straight from node:http, ahead of express: the hot path skips
 * express's router, its request/response decoration and body-parser's stream machinery (together more
 * than the verification itself costs). Same answers as the express route: the body read here with the
 * same size limit (413), the same strict JSON (400), the bearer token checked by the same verifier (401),
 * the same input checks (400), 500 on a failure, and the same http_requests metrics. Returns false,
 * having touched nothing, for what it leaves to express: other paths or methods, a query string, a
 * compressed body, a charset other than UTF-8.
 */
export function keyVerificationFastPath(opts: { verifier: KeyVerifier; tokens: TokenVerifier; bodyLimitBytes: number; log: Logger }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { verifier, tokens, bodyLimitBytes: limit, log } = opts;
  const tooLarge = errorJson(`Request body too large: the limit is ${limit} bytes`, 'PAYLOAD_TOO_LARGE');

  function send(res: ServerResponse, status: number, body: string, startedAt: number): void {
    res.writeHead(status, ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
    const labels = labelsOf(status);
    httpRequestsTotal.inc(labels);
    httpRequestDuration.observe(labels, (performance.now() - startedAt) / 1000);
  }

  function answer(res: ServerResponse, startedAt: number, viewer: Viewer | null, body: unknown): void {
    if (!mayVerify(viewer)) return send(res, 401, UNAUTHENTICATED_BODY, startedAt);
    let result: VerificationView | Promise<VerificationView>;
    try {
      result = verifier.check(checkVerifyInput(body, (field, message) => new BadVerifyBody(field, message)));
    } catch (err) {
      return err instanceof BadVerifyBody ? send(res, 400, badBody(err), startedAt) : failed(res, startedAt, err);
    }
    if (result instanceof Promise) {
      result.then(
        (r) => send(res, 200, JSON.stringify(r), startedAt),
        (err: unknown) => failed(res, startedAt, err),
      );
    } else send(res, 200, JSON.stringify(result), startedAt);
  }

  function failed(res: ServerResponse, startedAt: number, err: unknown): void {
    log.error({ err: { message: (err as Error).message }, path: KEYS_VERIFY_PATH }, 'unhandled request error');
    if (res.headersSent) res.destroy();
    else send(res, 500, INTERNAL, startedAt);
  }

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== KEYS_VERIFY_PATH) return false;
    const h = req.headers;
    const encoding = h['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const type = h['content-type'];
    if (type !== undefined && type.includes('charset') && !/;\s*charset\s*=\s*"?utf-/i.test(type)) return false;

    const startedAt = performance.now();
    // As express's `authenticate`: a token that does not verify is no viewer (401 below), not an error.
    // A token verified before is answered from memory, without a promise.
    const viewer: Viewer | Promise<Viewer | null> = tokens.rememberedViewer?.(h.authorization) ?? tokens.verifyAuthorization(h.authorization).catch(() => null);
    // As body-parser: no length and no chunked encoding is no body; Content-Length: 0 is `{}`.
    const hasBody = h['transfer-encoding'] !== undefined || h['content-length'] !== undefined;
    readBodyText(req, limit, (text) => {
      if (text === null) return send(res, 413, tooLarge, startedAt);
      let body: unknown;
      if (hasBody) {
        body = parseStrictJson(text);
        if (body === NOT_JSON) return send(res, 400, MALFORMED, startedAt);
      }
      if (!(viewer instanceof Promise)) return answer(res, startedAt, viewer, body);
      viewer.then(
        (v) => answer(res, startedAt, v, body),
        (err: unknown) => failed(res, startedAt, err),
      );
    });
    return true;
  };
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
 * the limit is shared by every replica; a tick's verifications are counted by one command, see
 * key-rate-limit.ts, so ioredis's auto-pipelining would only add a pipeline per command), in process otherwise.
 */
export function createKeyVerification(opts: {
  config: Config;
  orm: Orm;
  catalog: Catalog;
  log: Logger;
  redis?: RedisClient;
  onUsageRecorded?: () => void;
  /** Set: a key's first RATE_LIMITED or QUOTA_EXCEEDED in a window is recorded as a BillingEvent and published (built by the composition root). */
  signals?: Pick<Signals, 'record'>;
}): KeyVerification {
  const own = !opts.redis && opts.config.redisUrl ? new Redis(opts.config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: true }) : undefined;
  // ioredis reconnects by itself; without a listener an error would be an unhandled 'error' event.
  own?.on('error', (err: Error) => opts.log.warn({ err: err.message }, 'API key rate-limit redis connection error'));
  const redis = opts.redis ?? own;
  const { signals } = opts;
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
    onVerified: countVerification,
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
