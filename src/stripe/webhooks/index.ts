/**
 * The webhook pipeline: route → inbox → worker(s) → mirror (+ signals via `afterEvent`).
 * `createWebhookService` wires the three for the composition root (`serve`) and the `webhook` sidecar.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type Stripe from 'stripe';
import type { Orm } from '../../db/orm.js';
import type { Logger } from '../../log.js';
import type { PlanCatalog } from '../mirror/index.js';
import { RereadBudget, setRereadBudget, type RereadBudgetOptions } from '../sync/reread.js';
import { inboxSaturated } from './inbox.js';
import { webhookMetrics, type WebhookMetrics } from './metrics.js';
import { mountStripeWebhook, stripeWebhookFastPath, type WebhookRouteOptions } from './route.js';
import type { AfterEventHook } from './after-event.js';
import { WebhookWorker, type WebhookWorkerOptions } from './worker.js';

export * from './inbox.js';
export * from './metrics.js';
export * from './route.js';
export * from './worker.js';

export interface WebhookServiceOptions {
  orm: Orm;
  stripe: Stripe;
  webhookSecret: string;
  catalog?: PlanCatalog;
  afterEvent?: AfterEventHook;
  metrics?: WebhookMetrics;
  log?: Logger;
  /** Options of the route (tolerance, body limit) and of the worker (concurrency, retries, poll interval). */
  route?: Pick<WebhookRouteOptions, 'toleranceSeconds' | 'bodyLimitBytes'>;
  /** The budget of the worker's re-reads from Stripe (default: 80 per second, 16 in flight). */
  rereadBudget?: RereadBudgetOptions;
  worker?: Pick<WebhookWorkerOptions, 'concurrency' | 'batchSize' | 'pollIntervalMs' | 'maxAttempts' | 'retryBaseMs' | 'retryMaxMs' | 'deferWhile' | 'deferMs'>;
}

export interface WebhookService {
  worker: WebhookWorker;
  /** Mounts POST /webhooks/stripe (pass as the server's `mountBeforeJson`). */
  mount(app: Express): void;
  /**
   * The same route ahead of express, for node:http's request listener: true when it took the request
   * (a POST to exactly /webhooks/stripe); the mounted route serves the rest.
   */
  fastPath(req: IncomingMessage, res: ServerResponse): boolean;
  /** Starts the worker loops. */
  start(): void;
  /** Stops the worker loops (finishing the events in progress). */
  stop(): Promise<void>;
}

export function createWebhookService(opts: WebhookServiceOptions): WebhookService {
  const metrics = opts.metrics ?? webhookMetrics;
  if (opts.rereadBudget) setRereadBudget(opts.stripe, new RereadBudget(opts.rereadBudget));
  const worker = new WebhookWorker({
    orm: opts.orm,
    stripe: opts.stripe,
    catalog: opts.catalog,
    afterEvent: opts.afterEvent,
    metrics,
    log: opts.log,
    // Acknowledging comes first: while deliveries queue behind the inbox inserts, processing gives way.
    deferWhile: () => inboxSaturated(opts.orm.em),
    ...opts.worker,
  });
  const route: WebhookRouteOptions = {
    orm: opts.orm,
    stripe: opts.stripe,
    webhookSecret: opts.webhookSecret,
    metrics,
    log: opts.log,
    onStored: () => worker.notify(),
    ...opts.route,
  };
  return {
    worker,
    mount: (app) => mountStripeWebhook(app, route),
    fastPath: stripeWebhookFastPath(route),
    start: () => worker.start(),
    stop: () => worker.stop(),
  };
}
export * from './after-event.js';
