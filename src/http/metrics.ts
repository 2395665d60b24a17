/**
 * The HTTP layer's Prometheus metrics (requests, WebSockets, rate limits, live-event fan-out),
 * registered into the process registry (../metrics.ts) that `/metrics` serves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../metrics.js';

export const httpRequestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests served, by method, route and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency in seconds, by method, route and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const liveSubscribers = new Gauge({
  name: 'graphql_ws_live_subscribers',
  help: 'Authenticated graphql-ws connections currently open.',
  registers: [metricsRegistry],
});

export const wsLimitedTotal = new Counter({
  name: 'graphql_ws_limited_total',
  help: 'WebSocket limits applied: sockets_per_token (socket refused, 4430), subscriptions_per_socket (operation refused), slow_consumer (socket closed, 4413).',
  labelNames: ['limit'] as const,
  registers: [metricsRegistry],
});

export const rateLimitedTotal = new Counter({
  name: 'rate_limited_requests_total',
  help: 'Requests rejected by the rate limiter, by kind of key.',
  labelNames: ['key'] as const,
  registers: [metricsRegistry],
});

/** Bounded route labels: known paths by name, everything else "other" (no label explosion from scanners). */
const KNOWN_ROUTES = new Set(['/graphql', '/healthz', '/readyz', '/metrics', '/webhooks/stripe', '/v1/keys/verify']);

/** Counts the request and observes its latency (since `startedAt`, performance.now()) once its answer is written. */
function observeOnFinish(res: ServerResponse, method: string, route: string, startedAt: number): void {
  res.once('finish', () => {
    const labels = { method, route, status: String(res.statusCode) };
    httpRequestsTotal.inc(labels);
    httpRequestDuration.observe(labels, (performance.now() - startedAt) / 1000);
  });
}

/**
 * `serve`, a node:http listener that takes some requests ahead of express (true when it took one), with
 * the request metrics `httpMetricsMiddleware` gives express's routes, under `route`.
 */
export function withRequestMetrics(route: string, serve: (req: IncomingMessage, res: ServerResponse) => boolean): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const startedAt = performance.now();
    if (!serve(req, res)) return false;
    observeOnFinish(res, req.method ?? 'POST', route, startedAt);
    return true;
  };
}

export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const path = req.originalUrl.split('?')[0]!;
  observeOnFinish(res, req.method, KNOWN_ROUTES.has(path) ? path : 'other', performance.now());
  next();
}

// ── Live-event fan-out (src/http/fanout): shared subscription executions of this process. ──
const fanoutHubs = new Set<{ readonly keys: number; readonly subscribers: number }>();

/** Counts a graphql-ws server's shared executions in the gauges below; returns the unregister function. */
export function registerFanoutHub(hub: { readonly keys: number; readonly subscribers: number }): () => void {
  fanoutHubs.add(hub);
  return () => fanoutHubs.delete(hub);
}

export const sharedSubscriptionOperations = new Gauge({
  name: 'graphql_ws_shared_operations',
  help: 'Subscription executions currently live: one per distinct (document, variables, viewer), shared by their subscribers.',
  registers: [metricsRegistry],
  collect() {
    let n = 0;
    for (const h of fanoutHubs) n += h.keys;
    this.set(n);
  },
});
