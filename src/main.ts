import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { mintToken } from './auth/tokens.js';
import { loadCatalog } from './billing/catalog.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { checkDatabase, closeOrm, openOrm, type Orm } from './db/orm.js';
import { createGatewayServer, GRAPHQL_PATH, type GatewayServer } from './http/server.js';
import { createEventHooks } from './events/event-hooks.js';
import type { SignalBus } from './events/index.js';
import { logger } from './log.js';
import { checkStripe, prepareStripe, WEBHOOK_PATH, type PreparedStripe } from './stripe/sandbox.js';
import { startPeriodicSync, type PeriodicSync } from './stripe/sync/index.js';
import { createWebhookService, type WebhookService } from './stripe/webhooks/index.js';
import { createMeterEventFlusher, type MeterEventFlusher } from './stripe/meter-events/index.js';
import { startDunningTicker, type Dunning, type DunningTicker } from './billing/dunning/index.js';

export interface RunningGateway {
  config: Config;
  orm: Orm;
  stripe: PreparedStripe;
  server: GatewayServer;
  bus: SignalBus;
  /** Null in live mode without STRIPE_WEBHOOK_SECRET (the periodic sync still reconciles). */
  webhooks: WebhookService | null;
  /** Sends the usage ledger to Stripe Billing Meters; null with USAGE_FLUSH_RATE_PER_SECOND=0. `notify()` after new usage. */
  usageFlusher: MeterEventFlusher | null;
  /** Dunning (issue 6): its event hook runs in the webhook worker; the ticker runs due steps on wall time. */
  dunning: { service: Dunning; ticker: DunningTicker };
  port: number;
  url: string;
  /** Graceful stop: HTTP and WebSockets, the sync and webhook workers, the bus, the emulator, the database. */
  stop(): Promise<void>;
}

/**
 * The composition root: config → database (migrated) → Stripe (or the sandbox emulator, with the
 * catalog synced) → signals and webhook workers → HTTP. Nothing else wires modules together.
 */
export async function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningGateway> {
  const config = loadConfig(env);
  logger.level = config.logLevel;
  const catalog = loadCatalog(config.billingCatalog);
  const orm = await openOrm({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let stripe: PreparedStripe;
  try {
    stripe = await prepareStripe(config, orm, { catalog });
  } catch (err) {
    await closeOrm(orm);
    throw err;
  }
  // Signals, then dunning, after each processed event (same transaction): src/events/event-hooks.ts.
  const hooks = createEventHooks(config, logger);
  const { bus, dunning, afterEvent } = hooks;
  const webhooks = stripe.webhookSecret
    ? createWebhookService({ orm, stripe: stripe.stripe, webhookSecret: stripe.webhookSecret, catalog, afterEvent, log: logger, rereadBudget: config.stripeReread })
    : null;
  if (!webhooks) logger.warn('STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe is off; the periodic sync reconciles from events.list');
  // Metered usage: the ledger → Stripe Billing Meters, in the background (src/stripe/meter-events).
  // Built before the server so usage writers can be given `usageFlusher.notify`; started after listen.
  const usageFlusher = createMeterEventFlusher({ orm, stripe: stripe.stripe, catalog, settings: config.usageFlush, log: logger });

  const server = await createGatewayServer({
    config,
    orm,
    catalog,
    stripe: stripe.stripe,
    testClockId: stripe.testClockId,
    bus,
    log: logger,
    checkDatabase: () => checkDatabase(orm),
    checkStripe: async () => (await checkStripe(stripe.stripe)).ok,
    ...(webhooks ? { mountBeforeJson: (app) => webhooks.mount(app) } : {}),
    ...(usageFlusher ? { onUsageRecorded: () => usageFlusher.notify() } : {}),
  });
  const port = await server.listen(config.port);
  const url = `http://localhost:${port}`;
  webhooks?.start();
  // Webhooks Stripe never delivered (or that arrived while the gateway was down) are found by paging events.list.
  const periodic: PeriodicSync = startPeriodicSync({
    orm,
    stripe: stripe.stripe,
    catalog,
    afterEvent,
    // With a webhook worker, missed events go to its inbox; without one, the sync applies them itself.
    process: !webhooks,
    log: logger,
    onMissed: () => webhooks?.worker.notify(),
  });
  // Catch up at once on what happened while this process was down (the sidecar does the same).
  void periodic.runNow();
  usageFlusher?.start();
  const dunningTicker = startDunningTicker({ orm, dunning, intervalMs: config.dunning.tickSeconds * 1000, log: logger });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await server.close();
      await periodic.stop();
      await webhooks?.stop();
      // Before the emulator and the database close: requests in flight are recorded, the rest released.
      await usageFlusher?.stop();
      await dunningTicker.stop();
      await hooks.close();
      await stripe.close();
      await closeOrm(orm);
    })());

  await printBanner(config, stripe, port);
  return { config, orm, stripe, server, bus, webhooks, usageFlusher, dunning: { service: dunning, ticker: dunningTicker }, port, url, stop };
}

async function printBanner(config: Config, stripe: PreparedStripe, port: number): Promise<void> {
  const base = config.publicUrl;
  const lines = [
    '',
    `  billing-gateway ready (${stripe.mode === 'sandbox' ? 'sandbox: built-in Stripe emulator' : 'live Stripe'})`,
    `  GraphQL     ${base}${GRAPHQL_PATH}`,
    `  WebSocket   ${base.replace(/^http/, 'ws')}${GRAPHQL_PATH}`,
    `  Webhooks    ${base}${WEBHOOK_PATH}`,
  ];
  if (stripe.emulatorUrl) lines.push(`  Emulator    ${stripe.emulatorUrl}  (Stripe API; test clock ${stripe.testClockId ?? 'none'})`);
  lines.push(`  Database    ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite under ${config.dataDir}`}`);
  if (config.port !== port) lines.push(`  (listening on port ${port})`);
  // A ready-to-paste admin token, only where tokens are minted from the local dev secret.
  if (config.auth.devSecret && !config.isProduction) {
    const token = await mintToken(config.auth, { sub: 'admin', role: 'admin', expiresIn: '30d' });
    lines.push('', `  Admin token (development only, 30 days):`, `  ${token}`);
  }
  process.stdout.write(lines.join('\n') + '\n\n');
}

/** Runs the gateway until SIGINT/SIGTERM; exits 1 with a one-line reason when it cannot start. */
export async function main(): Promise<void> {
  let gateway: RunningGateway;
  try {
    gateway = await start();
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : `cannot start: ${(err as Error).message}`;
    process.stderr.write(`billing-gateway: ${message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
