/**
 * Prometheus metrics of the webhook pipeline and reconciliation, registered once into the process
 * registry (`metricsRegistry`, served at `/metrics`). Event types are a bounded label: only signed
 * (genuine Stripe) events get this far.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../../metrics.js';

export const webhookMetrics = {
  received: new Counter({
    name: 'webhook_events_received_total',
    help: 'POST /webhooks/stripe deliveries, by outcome (stored, duplicate, ignored, invalid_signature, error).',
    labelNames: ['outcome'] as const,
    registers: [metricsRegistry],
  }),
  processed: new Counter({
    name: 'webhook_events_processed_total',
    help: 'Webhook events processed into the mirror, by event type and action (applied, reread, skipped, noop).',
    labelNames: ['type', 'action'] as const,
    registers: [metricsRegistry],
  }),
  failures: new Counter({
    name: 'webhook_event_failures_total',
    help: 'Failed attempts to process a webhook event (each is retried with backoff until parked).',
    labelNames: ['type'] as const,
    registers: [metricsRegistry],
  }),
  parked: new Counter({
    name: 'webhook_events_parked_total',
    help: 'Webhook events given up on after the maximum number of attempts (see the parked-events admin query).',
    labelNames: ['type'] as const,
    registers: [metricsRegistry],
  }),
  lag: new Histogram({
    name: 'webhook_lag_seconds',
    help: 'Time from a webhook event being stored in the inbox to its processing commit.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [metricsRegistry],
  }),
  syncDriftRows: new Gauge({
    name: 'billing_sync_drift_rows',
    help: 'Mirror rows that differed from Stripe in the last full sync, by table.',
    labelNames: ['table'] as const,
    registers: [metricsRegistry],
  }),
  syncDriftTotal: new Counter({
    name: 'billing_sync_drift_total',
    help: 'Mirror rows found different from Stripe (and repaired) by full syncs, by table.',
    labelNames: ['table'] as const,
    registers: [metricsRegistry],
  }),
  syncFailures: new Counter({
    name: 'billing_sync_failures_total',
    help: 'Events syncs (events.list reconciliation) that failed as a whole; /readyz reports one failing run after run.',
    registers: [metricsRegistry],
  }),
  syncFailedRows: new Counter({
    name: 'billing_sync_failed_rows_total',
    help: 'Objects a full sync could not check or repair (skipped with their reason, the rest went on), by table.',
    labelNames: ['table'] as const,
    registers: [metricsRegistry],
  }),
  missedEvents: new Counter({
    name: 'billing_sync_missed_events_total',
    help: 'Events found by the events.list reconciliation that the inbox did not have.',
    registers: [metricsRegistry],
  }),
};

export type WebhookMetrics = typeof webhookMetrics;
