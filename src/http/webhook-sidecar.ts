/**
 * The webhook sidecar's HTTP server (`billing-gateway webhook --port N`), beside the gateway's own
 * (./server.ts): only `POST /webhooks/stripe`, `/healthz`, `/readyz` and `/metrics`. It hosts the same
 * workers `serve` runs, built by src/workers.ts (`startWebhookSidecar`); this module only serves HTTP.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Orm } from '../db/orm.js';
import { logger as rootLogger, type Logger } from '../log.js';
import { metricsRegistry } from '../metrics.js';
import { migrationsCheck, mountHealthRoutes, syncCheck, type ReadinessCheck, type SyncReadiness } from './health.js';
import { httpMetricsMiddleware, withRequestMetrics } from './metrics.js';

export interface SidecarServerOptions {
  /** The database the readiness checks look at (connection, migrations, the events sync). */
  orm: Orm;
  /** Mounts POST /webhooks/stripe (the webhook service's `mount`). */
  mountWebhooks(app: Express): void;
  /** The same route ahead of express (the webhook service's `fastPath`); what it leaves goes to the mounted route. */
  webhookFastPath?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Readiness of Stripe for /readyz (resolves, or rejects / returns false). */
  checkStripe: ReadinessCheck;
  /** When /readyz calls the sync stuck (default: 15 minutes, 3 failed syncs in a row). */
  syncReadiness?: SyncReadiness;
  log?: Logger;
}

export interface SidecarServer {
  /** Resolves to the port listened on (0: any free port). */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting; /readyz answers 503 from the first moment. */
  close(): Promise<void>;
}

export function createSidecarServer(opts: SidecarServerOptions): SidecarServer {
  const log = (opts.log ?? rootLogger).child({ module: 'webhook-sidecar' });
  let shuttingDown = false;
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetricsMiddleware);
  opts.mountWebhooks(app);
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

  const fast = opts.webhookFastPath ? withRequestMetrics('/webhooks/stripe', opts.webhookFastPath) : () => false;
  const server = createServer((req, res) => {
    if (!fast(req, res)) app(req, res);
  });
  return {
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    },
    async close() {
      shuttingDown = true;
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
