/**
 * The background work of a gateway process, built here for both of its hosts: `serve` (./gateway.ts, beside
 * the GraphQL server) and the `webhook` sidecar (`startWebhookSidecar`, on its own small HTTP server).
 *
 * - `createEventHooks`: what runs after each processed Stripe event, inside its transaction: the billing
 *   signals (stored once, published on the bus: Redis when REDIS_URL is set, so `serve` replicas deliver
 *   them live), then dunning. The only place the signal bus and the signals are built; the `sync` command
 *   uses it too, and `serve` hands the signals to API key verification (its limit signals).
 * - `buildWorkers`: the webhook route's worker, the periodic events sync, the meter-event flusher and
 *   the dunning ticker, started and stopped together.
 */
import type Stripe from 'stripe';
import { configuredNotifiers, createDunning, startDunningTicker, type Dunning, type DunningTicker } from './billing/dunning/index.js';
import { createSignals, type Signals } from './billing/signals/index.js';
import type { Catalog } from './catalog.js';
import type { Config } from './config.js';
import type { Orm } from './db/orm.js';
import { createSignalBus, type SignalBus } from './events/index.js';
import type { ReadinessCheck, SyncReadiness } from './http/health.js';
import { createSidecarServer } from './http/webhook-sidecar.js';
import { logger as rootLogger, type Logger } from './log.js';
import { createMeterEventFlusher, type MeterEventFlusher } from './stripe/meter-events/index.js';
import { startPeriodicSync, type PeriodicSync } from './stripe/sync/index.js';
import type { RereadBudgetOptions } from './stripe/sync/reread.js';
import { chainAfterEvents, createWebhookService, type AfterEventHook, type WebhookService, type WebhookServiceOptions } from './stripe/webhooks/index.js';

export interface EventHooks {
  bus: SignalBus;
  /** Stores and publishes billing events; also what API key verification records its limit signals with. */
  signals: Signals;
  dunning: Dunning;
  /** Signals then dunning; the chain keeps the signals' batch hooks the worker uses. */
  afterEvent: AfterEventHook;
  /** Dunning's pending notifications, then the bus. */
  close(): Promise<void>;
}

export function createEventHooks(config: Pick<Config, 'redisUrl' | 'mrrMilestones' | 'dunning'>, log: Logger = rootLogger): EventHooks {
  const bus = createSignalBus({ redisUrl: config.redisUrl, log });
  const signals = createSignals({ bus, config, log });
  const dunning = createDunning({ schedule: config.dunning.schedule, signals, notifiers: configuredNotifiers(config.dunning, log), log });
  return {
    bus,
    signals,
    dunning,
    afterEvent: chainAfterEvents(signals.afterEvent, dunning.afterEvent),
    close: async () => {
      await dunning.close();
      await bus.close();
    },
  };
}

export interface WorkersOptions {
  orm: Orm;
  stripe: Stripe;
  catalog: Catalog;
  /** Set: the webhook route and its worker. Unset: none, and the periodic sync applies missed events itself. */
  webhookSecret?: string;
  /** After each processed event (`createEventHooks`). */
  afterEvent?: AfterEventHook;
  /** The budget of the worker's re-reads from Stripe. */
  rereadBudget?: RereadBudgetOptions;
  worker?: WebhookServiceOptions['worker'];
  /** Meter-event flusher settings; unset: no flusher in this process. */
  usageFlush?: Config['usageFlush'];
  /** Runs due dunning steps on wall time; unset: no ticker in this process. */
  dunningTicker?: { dunning: Dunning; tickSeconds: number };
  /** Period of the events.list reconciliation; 0 turns it off (default 5 min). */
  syncIntervalMs?: number;
  log?: Logger;
}

export interface Workers {
  /** Null without a webhook secret. Mount its route before the JSON parser (`webhooks.mount(app)`). */
  webhooks: WebhookService | null;
  /** Null without `usageFlush`, or with USAGE_FLUSH_RATE_PER_SECOND=0. `notify()` after new usage. */
  usageFlusher: MeterEventFlusher | null;
  /** Set by `start()` when `dunningTicker` was asked for. */
  readonly dunningTicker: DunningTicker | null;
  /** Once the host listens: the worker loops, the sync (catching up at once on what happened while down), the flusher, the ticker. */
  start(): void;
  /** Stops them, finishing work in progress. The caller then closes the hooks, Stripe and the database. */
  stop(): Promise<void>;
}

export function buildWorkers(opts: WorkersOptions): Workers {
  const log = opts.log ?? rootLogger;
  const webhooks = opts.webhookSecret
    ? createWebhookService({
        orm: opts.orm,
        stripe: opts.stripe,
        webhookSecret: opts.webhookSecret,
        catalog: opts.catalog,
        afterEvent: opts.afterEvent,
        log,
        worker: opts.worker,
        rereadBudget: opts.rereadBudget,
      })
    : null;
  // Built before the host so usage writers can be given `usageFlusher.notify`; started with the rest.
  const usageFlusher = opts.usageFlush
    ? createMeterEventFlusher({ orm: opts.orm, stripe: opts.stripe, catalog: opts.catalog, settings: opts.usageFlush, log })
    : null;
  let periodic: PeriodicSync | null = null;
  let ticker: DunningTicker | null = null;
  return {
    webhooks,
    usageFlusher,
    get dunningTicker() {
      return ticker;
    },
    start() {
      webhooks?.start();
      // Webhooks Stripe never delivered (or that arrived while no gateway listened) are found by paging events.list.
      if (opts.syncIntervalMs !== 0) {
        periodic = startPeriodicSync({
          orm: opts.orm,
          stripe: opts.stripe,
          catalog: opts.catalog,
          afterEvent: opts.afterEvent,
          // With a webhook worker, missed events go to its inbox; without one, the sync applies them itself.
          process: !webhooks,
          intervalMs: opts.syncIntervalMs,
          log,
          onMissed: () => webhooks?.worker.notify(),
        });
        void periodic.runNow();
      }
      usageFlusher?.start();
      if (opts.dunningTicker) {
        const { dunning, tickSeconds } = opts.dunningTicker;
        ticker = startDunningTicker({ orm: opts.orm, dunning, intervalMs: tickSeconds * 1000, log });
      }
    },
    async stop() {
      await periodic?.stop();
      await webhooks?.stop();
      // Before the emulator and the database close: requests in flight are recorded, the rest released.
      await usageFlusher?.stop();
      await ticker?.stop();
    },
  };
}

export interface WebhookSidecarOptions {
  orm: Orm;
  stripe: Stripe;
  webhookSecret: string;
  catalog: Catalog;
  afterEvent?: AfterEventHook;
  /** Readiness of Stripe for /readyz (resolves, or rejects / returns false). */
  checkStripe: ReadinessCheck;
  /** When /readyz calls the sync stuck (default: 15 minutes, 3 failed syncs in a row). */
  syncReadiness?: SyncReadiness;
  port: number;
  host?: string;
  /** Period of the events.list reconciliation; 0 turns it off (default 5 min). */
  syncIntervalMs?: number;
  worker?: WebhookServiceOptions['worker'];
  rereadBudget?: WebhookServiceOptions['rereadBudget'];
  /** Also run the meter-event flusher here; unset: not here. */
  usageFlush?: Config['usageFlush'];
  log?: Logger;
}

export interface WebhookSidecar {
  port: number;
  url: string;
  /** Stops accepting, then the workers (finishing events in progress). The caller closes the hooks and the ORM. */
  close(): Promise<void>;
}

/**
 * The `webhook` sidecar: the workers `serve` runs (minus the dunning ticker, which stays with `serve`),
 * behind only POST /webhooks/stripe, health and metrics, sharing the database (and the signal bus,
 * through `afterEvent`) with `serve` processes. Beside a running `serve` it needs PostgreSQL: PGlite is
 * one process's database.
 */
export async function startWebhookSidecar(opts: WebhookSidecarOptions): Promise<WebhookSidecar> {
  const log = opts.log ?? rootLogger;
  const workers = buildWorkers({
    orm: opts.orm,
    stripe: opts.stripe,
    catalog: opts.catalog,
    webhookSecret: opts.webhookSecret,
    afterEvent: opts.afterEvent,
    rereadBudget: opts.rereadBudget,
    worker: opts.worker,
    usageFlush: opts.usageFlush,
    syncIntervalMs: opts.syncIntervalMs,
    log,
  });
  const webhooks = workers.webhooks!;
  const server = createSidecarServer({
    orm: opts.orm,
    mountWebhooks: (app) => webhooks.mount(app),
    webhookFastPath: (req, res) => webhooks.fastPath(req, res),
    checkStripe: opts.checkStripe,
    syncReadiness: opts.syncReadiness,
    log,
  });
  const port = await server.listen(opts.port, opts.host);
  workers.start();
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  log.child({ module: 'webhook-sidecar' }).info({ url: `${url}/webhooks/stripe` }, 'webhook sidecar listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    close() {
      closing ??= (async () => {
        await server.close();
        await workers.stop();
      })();
      return closing;
    },
  };
}
