/** Dunning metrics on /metrics. */
import { Counter } from 'prom-client';
import { metricsRegistry } from '../../metrics.js';

export const dunningMetrics = {
  cases: new Counter({
    name: 'billing_dunning_cases_total',
    help: 'Dunning cases opened and closed (closed by the invoice status: paid, void, uncollectible)',
    labelNames: ['event'] as const,
    registers: [metricsRegistry],
  }),
  steps: new Counter({
    name: 'billing_dunning_steps_total',
    help: 'Dunning steps run, by action',
    labelNames: ['action'] as const,
    registers: [metricsRegistry],
  }),
  notifications: new Counter({
    name: 'billing_dunning_notifications_total',
    help: 'Dunning webhook deliveries by outcome (delivered, retried, given_up)',
    labelNames: ['outcome'] as const,
    registers: [metricsRegistry],
  }),
};
