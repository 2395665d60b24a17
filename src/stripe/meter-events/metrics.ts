/**
 * Prometheus metrics of the meter-event flusher, registered once into the process registry
 * (`metricsRegistry`, served at `/metrics`). Backlog, lag and parked rows are read from the ledger
 * when scraped, at most once per `LEDGER_STATS_TTL_MS` (one statement on the unsent partial index).
 */
import { Counter, Gauge } from 'prom-client';
import type { Orm } from '../../db/orm.js';
import { metricsRegistry } from '../../metrics.js';
import type { FailureKind } from './classify.js';
import { readUsageFlushStatus, type LedgerStats } from '../../db/usage-flush-status.js';

export type { LedgerStats };

/** Backlog, lag and parked rows of the ledger, in one statement on the unsent partial index. */
export function readLedgerStats(orm: Orm): Promise<LedgerStats> {
  return readUsageFlushStatus(orm.em);
}

const LEDGER_STATS_TTL_MS = 2000;
let source: (() => Promise<LedgerStats>) | null = null;
let cached: { at: number; value: Promise<LedgerStats | null> } | null = null;

/** Where the gauges read the ledger from (the running flusher sets it); returns a detach for its owner. */
export function setLedgerStatsSource(fn: () => Promise<LedgerStats>): () => void {
  source = fn;
  cached = null;
  return () => {
    if (source !== fn) return;
    source = null;
    cached = null;
  };
}

function ledgerStats(): Promise<LedgerStats | null> {
  const now = Date.now();
  if (cached && now - cached.at < LEDGER_STATS_TTL_MS) return cached.value;
  const read = source;
  // A scrape must not fail because the database is briefly away: the gauges keep their last value.
  const value = read ? read().catch(() => null) : Promise.resolve(null);
  cached = { at: now, value };
  return value;
}

function ledgerGauge(name: string, help: string, pick: (s: LedgerStats) => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [metricsRegistry],
    async collect() {
      const stats = await ledgerStats();
      if (stats) this.set(pick(stats));
    },
  });
}

export const meterEventMetrics = {
  backlog: ledgerGauge('usage_meter_events_backlog', 'Usage ledger rows not yet sent to Stripe as meter events (parked rows excluded).', (s) => s.backlog),
  lag: ledgerGauge('usage_meter_events_lag_seconds', 'Age of the oldest usage ledger row not yet sent to Stripe, in seconds.', (s) => s.lagSeconds),
  parked: ledgerGauge('usage_meter_events_parked', 'Usage ledger rows parked after Stripe rejected them permanently (see src/stripe/meter-events/README.md).', (s) => s.parked),
  sent: new Counter({
    name: 'usage_meter_events_sent_total',
    help: 'Ledger rows delivered to Stripe as meter events, by result (created, or duplicate: Stripe already held the identifier).',
    labelNames: ['result'] as const,
    registers: [metricsRegistry],
  }),
  failures: new Counter({
    name: 'usage_meter_events_failures_total',
    help: 'Failed meter-event sends, by kind (rate_limited, rejected, auth, transient).',
    labelNames: ['kind'] as const,
    registers: [metricsRegistry],
  }),
  rateLimited: new Counter({
    name: 'usage_meter_events_rate_limited_total',
    help: 'HTTP 429 answers from Stripe to meter-event sends (each pauses the flusher with exponential backoff).',
    registers: [metricsRegistry],
  }),
  parkedTotal: new Counter({
    name: 'usage_meter_events_parked_total',
    help: 'Ledger rows parked by this process after repeated permanent rejections.',
    registers: [metricsRegistry],
  }),
};

export type MeterEventMetrics = typeof meterEventMetrics;

/** Kinds as labels, so every series exists from the start (rate() works before the first failure). */
const FAILURE_KINDS: readonly FailureKind[] = ['rate_limited', 'rejected', 'auth', 'transient'];
for (const kind of FAILURE_KINDS) meterEventMetrics.failures.inc({ kind }, 0);
for (const result of ['created', 'duplicate']) meterEventMetrics.sent.inc({ result }, 0);
