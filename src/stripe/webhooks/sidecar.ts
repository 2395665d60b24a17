/**
 * The webhook sidecar (`billing-gateway webhook --port N`): only `POST /webhooks/stripe`, the workers,
 * the periodic events sync, the meter-event flusher (with `usageFlush`), `/healthz`, `/readyz` and
 * `/metrics`, sharing the database (and the signal bus, through `afterEvent`) with `serve` processes.
 * Beside a running `serve` it needs PostgreSQL: PGlite is one process's database.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type Stripe from 'stripe';
import type { Orm } from '../../db/orm.js';
import { migrationsCheck, mountHealthRoutes, syncCheck, type ReadinessCheck, type SyncReadiness } from '../../http/health.js';
import { httpMetricsMiddleware } from '../../http/metrics.js';
import { metricsRegistry } from '../../metrics.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import type { Catalog } from '../../catalog.js';
import type { Config } from '../../config.js';
import { startMeterEventFlusher } from '../meter-events/index.js';
import type { PlanCatalog } from '../mirror/index.js';
import { startPeriodicSync } from '../sync/periodic.js';
import { createWebhookService, type WebhookServiceOptions } from './index.js';
import type { AfterEventHook } from './after-event.js';

export interface WebhookSidecarOptions {
  orm: Orm;
  stripe: Stripe;
  webhookSecret: string;
  catalog?: PlanCatalog;
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
  /** Also run the meter-event flusher here (the catalog's meters name the Stripe events); unset: not here. */
  usageFlush?: { settings: Config['usageFlush']; catalog: Pick<Catalog, 'meters'> };
  log?: Logger;
}

export interface WebhookSidecar {
  port: number;
  url: string;
  /** Stops accepting, stops the sync job and the workers (finishing events in progress). The caller closes the ORM. */
  close(): Promise<void>;
}

export async function startWebhookSidecar(opts: WebhookSidecarOptions): Promise<WebhookSidecar> {
  const log = (opts.log ?? rootLogger).child({ module: 'webhook-sidecar' });
  const service = createWebhookService({
    orm: opts.orm,
    stripe: opts.stripe,
    webhookSecret: opts.webhookSecret,
    catalog: opts.catalog,
    afterEvent: opts.afterEvent,
    log: opts.log,
    worker: opts.worker,
    rereadBudget: opts.rereadBudget,
  });
  let shuttingDown = false;
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetricsMiddleware);
  service.mount(app);
  mountHealthRoutes(
    app,
    {
      database: async () => (await opts.orm.checkConnection()).ok,
      migrations: migrationsCheck(opts.orm),
      sync: syncCheck(opts.orm, opts.syncReadiness),
      stripe: opts.checkStripe,
    },
    log,
    () => shuttingDown,
  );
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
  app.use((_req, res) => {
    res.status(404).json({ error: { message: 'Not found' } });
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  service.start();
  const sync =
    opts.syncIntervalMs === 0
      ? null
      : startPeriodicSync({
          orm: opts.orm,
          stripe: opts.stripe,
          catalog: opts.catalog,
          intervalMs: opts.syncIntervalMs,
          log: opts.log,
          onMissed: () => service.worker.notify(),
        });
  // Catch up at start: whatever arrived while no gateway was listening.
  void sync?.runNow();
  const usageFlusher = opts.usageFlush
    ? startMeterEventFlusher({ orm: opts.orm, stripe: opts.stripe, catalog: opts.usageFlush.catalog, settings: opts.usageFlush.settings, log: opts.log })
    : null;
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  log.info({ url: `${url}/webhooks/stripe` }, 'webhook sidecar listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await sync?.stop();
        await service.stop();
        await usageFlusher?.stop();
      })();
      return closing;
    },
  };
}
