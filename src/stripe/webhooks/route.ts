/**
 * `POST /webhooks/stripe`: the raw body (mounted before any JSON parser), `Stripe-Signature` verified
 * with the endpoint's secret (300 s tolerance), the event stored in the inbox, and 2xx only once that
 * insert is committed. Bad, missing or stale signature → 400 and nothing stored. Duplicates → 200,
 * nothing new. Types the gateway does not handle → 200, recorded as ignored. The work happens in the
 * worker (`onStored` wakes it). Served ahead of express (`stripeWebhookFastPath`) and mounted in it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readRequestBody } from '../../request-body.js';
import type { Express } from 'express';
import type Stripe from 'stripe';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { queueStoreEvent, type StoreOutcome } from './inbox.js';
import { webhookMetrics, type WebhookMetrics } from './metrics.js';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;
/** Stripe's events are a few KB; large invoices with many lines stay well under this (1 MiB). */
export const DEFAULT_WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

export interface WebhookRouteOptions {
  orm: Orm;
  stripe: Stripe;
  /** `whsec_…`: the signing secret of the endpoint Stripe delivers to. */
  webhookSecret: string;
  metrics?: WebhookMetrics;
  /** Signature timestamp tolerance (default 300 s). */
  toleranceSeconds?: number;
  /** Body size limit in bytes (default 1 MiB); a larger body is refused with 413. */
  bodyLimitBytes?: number;
  /** Called after an event is committed to the inbox (wakes the worker). */
  onStored?: (event: Stripe.Event, outcome: StoreOutcome) => void;
  log?: Logger;
}

const ACK_BODIES: Record<StoreOutcome, string> = {
  stored: JSON.stringify({ received: true }),
  duplicate: JSON.stringify({ received: true, duplicate: true }),
  ignored: JSON.stringify({ received: true, ignored: true }),
};

/** Written by node:http's own methods, so the same code answers behind express and ahead of it. */
function reject(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { message } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
}

type WebhookHandler = (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => Promise<void>;

/** The handler alone (expects `req.body` as a Buffer, e.g. from `express.raw`; `mountStripeWebhook` reads it itself). */
export function createStripeWebhookHandler(opts: WebhookRouteOptions): WebhookHandler {
  if (!opts.webhookSecret) throw new Error('STRIPE_WEBHOOK_SECRET: a webhook signing secret is required for POST /webhooks/stripe');
  const metrics = opts.metrics ?? webhookMetrics;
  const log = (opts.log ?? rootLogger).child({ module: 'webhooks' });
  const tolerance = opts.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  return async (req, res) => {
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body)) {
      metrics.received.inc({ outcome: 'invalid_signature' });
      return reject(res, 400, 'Expected a JSON body (Content-Type: application/json)');
    }
    const signature = req.headers['stripe-signature'];
    if (typeof signature !== 'string' || signature === '') {
      metrics.received.inc({ outcome: 'invalid_signature' });
      return reject(res, 400, 'Missing Stripe-Signature header');
    }
    // Decoded once: the signature check, the parse and the stored payload all use this text.
    const text = body.toString('utf8');
    let event: Stripe.Event;
    try {
      event = opts.stripe.webhooks.constructEvent(text, signature, opts.webhookSecret, tolerance);
    } catch (err) {
      metrics.received.inc({ outcome: 'invalid_signature' });
      const stale = /tolerance/i.test((err as Error).message ?? '');
      log.warn({ reason: stale ? 'timestamp outside tolerance' : 'signature mismatch' }, 'webhook rejected');
      return reject(res, 400, stale ? 'Stripe-Signature timestamp is outside the tolerance' : 'Invalid Stripe-Signature');
    }
    if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.created !== 'number' || !event.data) {
      metrics.received.inc({ outcome: 'invalid_signature' });
      return reject(res, 400, 'Not a Stripe event');
    }
    let outcome: StoreOutcome;
    try {
      // Group commit: deliveries arriving together share one insert and one commit; this resolves after it.
      outcome = await queueStoreEvent(opts.orm.em, event, text);
    } catch (err) {
      metrics.received.inc({ outcome: 'error' });
      log.error({ event: event.id, type: event.type, reason: (err as Error).message }, 'webhook could not be stored');
      // Stripe retries a 5xx later; nothing was acknowledged.
      return reject(res, 500, 'Could not store the event; retry later');
    }
    metrics.received.inc({ outcome });
    // Fixed bodies written directly: express's res.json (serialise, ETag hash) was per-request overhead.
    const ack = ACK_BODIES[outcome];
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(ack) }).end(ack);
    if (outcome === 'stored') opts.onStored?.(event, outcome);
  };
}

/**
 * A delivery to the route: the body read directly (express.raw's type and charset parsing,
 * decompression and stream wrapping were a measurable part of each acknowledgement), with its limit (413).
 */
function deliveryReader(opts: WebhookRouteOptions): (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => void {
  const handler = createStripeWebhookHandler(opts);
  const limit = opts.bodyLimitBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT_BYTES;
  return (req, res) => {
    // Stripe sends `application/json; charset=utf-8`; any other type leaves the body unread and is refused (400).
    if (!/^application\/json\s*(?:;|$)/i.test(req.headers['content-type'] ?? '')) return void handler(req, res);
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      req.resume();
      return reject(res, 415, 'Unsupported Content-Encoding: Stripe sends webhook bodies uncompressed');
    }
    readRequestBody(
      req,
      limit,
      (body) => {
        if (body === null) return reject(res, 413, `Request body too large: the limit is ${limit} bytes`);
        req.body = body;
        return void handler(req, res);
      },
      () => reject(res, 400, 'Could not read the request body'),
    );
  };
}

/** Mounts `POST /webhooks/stripe` with its own raw-body reader; call before any JSON parser is mounted. */
export function mountStripeWebhook(app: Express, opts: WebhookRouteOptions & { path?: string }): void {
  const deliver = deliveryReader(opts);
  app.post(opts.path ?? STRIPE_WEBHOOK_PATH, (req, res) => deliver(req, res));
}

/**
 * The same route served from node:http ahead of express (`createServer((req, res) => fast(req, res) ||
 * app(req, res))`): true when it took the request. It takes a POST to exactly the path; anything else
 * (a query string, a trailing slash, another method) is left to express, where the route is mounted too.
 * Express's routing, the prototype swaps of its request and response, and its metrics middleware were
 * about a twentieth of an acknowledgement's CPU, on the loop every delivery waits for.
 */
export function stripeWebhookFastPath(opts: WebhookRouteOptions & { path?: string }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const deliver = deliveryReader(opts);
  const path = opts.path ?? STRIPE_WEBHOOK_PATH;
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== path) return false;
    deliver(req, res);
    return true;
  };
}
