/** API key metrics on /metrics. */
import { Counter } from 'prom-client';
import { metricsRegistry } from '../../metrics.js';

/**
 * Verifications by code since the last scrape: counted in a Map on the hot path and added to the
 * counter when it is collected (prom-client's `inc` builds a label hash and a result object per call).
 */
const unscraped = new Map<string, number>();

export const apiKeyMetrics = {
  verifications: new Counter({
    name: 'api_key_verifications_total',
    help: 'API key verifications, by outcome code',
    labelNames: ['code'] as const,
    registers: [metricsRegistry],
    collect() {
      for (const [code, n] of unscraped) if (n > 0) this.inc({ code }, n);
      unscraped.clear();
    },
  }),
  limitSignals: new Counter({
    name: 'api_key_limit_signals_total',
    help: 'First RATE_LIMITED or QUOTA_EXCEEDED of a key in a window (signals raised), by code',
    labelNames: ['code'] as const,
    registers: [metricsRegistry],
  }),
};

/** One verification answered with `code` (shows in api_key_verifications_total at the next scrape). */
export function countVerification(code: string): void {
  unscraped.set(code, (unscraped.get(code) ?? 0) + 1);
}
