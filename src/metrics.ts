/**
 * The process's one Prometheus registry. Every layer registers its metrics here (HTTP, webhooks,
 * Stripe calls, signals, dunning, the usage flusher) and `/metrics` serves it; it lives in a leaf so
 * that registering a metric never imports a layer above.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });
