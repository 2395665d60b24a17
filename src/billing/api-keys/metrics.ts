/** API key metrics on /metrics. */
import { Counter } from 'prom-client';
import { metricsRegistry } from '../../metrics.js';

export const apiKeyMetrics = {
  verifications: new Counter({
    name: 'api_key_verifications_total',
    help: 'API key verifications, by outcome code',
    labelNames: ['code'] as const,
    registers: [metricsRegistry],
  }),
  limitSignals: new Counter({
    name: 'api_key_limit_signals_total',
    help: 'First RATE_LIMITED or QUOTA_EXCEEDED of a key in a window (signals raised), by code',
    labelNames: ['code'] as const,
    registers: [metricsRegistry],
  }),
};
