import 'reflect-metadata';
import { createServer } from 'node:net';
import { mintToken } from './auth/tokens.js';
import { loadCatalog } from './catalog.js';
import { assertProductionStripe, ConfigError, loadConfig, persistDevSecret, type Config } from './config.js';
import { checkDatabase, closeOrm, openOrm, type Orm } from './db/orm.js';
import { createGatewayServer, GRAPHQL_PATH, type GatewayServer } from './http/server.js';
import type { SignalBus } from './events/index.js';
import { serveCliSocket, type CliRunner } from './cli/in-gateway.js';
import { errorLine } from './errors.js';
import { logger } from './log.js';
import { checkStripe, prepareStripe, WEBHOOK_PATH, type PreparedStripe } from './stripe/sandbox.js';
import { backfillNewMirror } from './stripe/sync/backfill.js';
import type { WebhookService } from './stripe/webhooks/index.js';
import type { MeterEventFlusher } from './stripe/meter-events/index.js';
import type { Dunning, DunningTicker } from './billing/dunning/index.js';
import { buildWorkers, createEventHooks } from './workers.js';

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
  /** Dunning: its event hook runs in the webhook worker; the ticker runs due steps on wall time. */
  dunning: { service: Dunning; ticker: DunningTicker };
  port: number;
  url: string;
  /** Graceful stop: HTTP and WebSockets, the sync and webhook workers, the bus, the emulator, the database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /**
   * The CLI, to run data commands for other CLI processes while this one holds the embedded database
   * (src/cli/in-gateway.ts); unset: no CLI socket.
   */
  runCli?: CliRunner;
}

/**
 * The composition root of `serve`: config → database (migrated) → Stripe (or the sandbox emulator, with
 * the catalog synced) → event hooks and workers (./workers.ts, shared with the webhook sidecar) → HTTP.
 * Nothing outside these two modules wires modules together.
 */
export async function start(env: NodeJS.ProcessEnv = process.env, opts: StartOptions = {}): Promise<RunningGateway> {
  const config = persistDevSecret(loadConfig(env));
  assertProductionStripe(config);
  logger.level = config.logLevel;
  // Before the database and the emulator: a busy port is the commonest first-run failure, and the
  // WebSocket server would otherwise print graphql-ws's stack for it.
  await ensurePortFree(config.port);
  const catalog = loadCatalog(config.billingCatalog);
  const orm = await openOrm({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let stripe: PreparedStripe;
  try {
    stripe = await prepareStripe(config, orm, { catalog });
  } catch (err) {
    await closeOrm(orm);
    throw err;
  }
  try {
    // A new database (e.g. PGlite → DATABASE_URL over the same Stripe) is filled before it answers anything.
    await backfillNewMirror({ orm, stripe: stripe.stripe, catalog, log: logger });
  } catch (err) {
    await stripe.close();
    await closeOrm(orm);
    throw new Error(`the first full sync of this new database failed (${errorLine(err)}); \`billing-gateway sync --full\` retries it and shows the drift`);
  }
  // Signals, then dunning, after each processed event (same transaction); then the workers that process events.
  const hooks = createEventHooks(config, logger);
  const { bus, signals, dunning, afterEvent } = hooks;
  const workers = buildWorkers({
    orm,
    stripe: stripe.stripe,
    catalog,
    webhookSecret: stripe.webhookSecret,
    afterEvent,
    rereadBudget: config.stripeReread,
    usageFlush: config.usageFlush,
    dunningTicker: { dunning, tickSeconds: config.dunning.tickSeconds },
    log: logger,
  });
  const { webhooks, usageFlusher } = workers;
  if (!webhooks) logger.warn('STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe is off; the periodic sync reconciles from events.list');

  const server = await createGatewayServer({
    config,
    orm,
    catalog,
    stripe: stripe.stripe,
    testClockId: stripe.testClockId,
    bus,
    signals,
    log: logger,
    checkDatabase: () => checkDatabase(orm),
    checkStripe: async () => (await checkStripe(stripe.stripe)).ok,
    ...(webhooks ? { mountBeforeJson: (app) => webhooks.mount(app), webhookFastPath: (req, res) => webhooks.fastPath(req, res) } : {}),
    ...(usageFlusher ? { onUsageRecorded: () => usageFlusher.notify() } : {}),
  });
  let port: number;
  try {
    port = await server.listen(config.port);
  } catch (err) {
    await Promise.allSettled([server.close(), stripe.close()]);
    await closeOrm(orm);
    throw portError(err, config.port);
  }
  const url = `http://localhost:${port}`;
  workers.start();
  // PGlite serves this process only: CLI data commands run in here, through a socket in DATA_DIR.
  const cliSocket =
    config.databaseUrl || !opts.runCli
      ? null
      : await serveCliSocket({ orm, dataDir: config.dataDir, apiBase: stripe.emulatorUrl, runCli: opts.runCli }).catch((err: unknown) => {
        // Not fatal: the CLI then says the embedded database is in use, as it did before.
        logger.warn({ err: errorLine(err) }, 'CLI socket in DATA_DIR not available: CLI data commands need the gateway stopped');
        return null;
      });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await cliSocket?.close();
      await server.close();
      await workers.stop();
      await hooks.close();
      await stripe.close();
      await closeOrm(orm);
    })());

  await printBanner(config, stripe, port);
  return { config, orm, stripe, server, bus, webhooks, usageFlusher, dunning: { service: dunning, ticker: workers.dunningTicker! }, port, url, stop };
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

/** PORT taken (or not ours to take) → one line naming PORT and what to do; anything else unchanged. */
function portError(err: unknown, port: number): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    return new ConfigError('PORT', `PORT: port ${port} is already in use by another process; stop that process, or choose another port (PORT=${port === 65535 ? 4000 : port + 1} npm start)`);
  }
  if (code === 'EACCES') return new ConfigError('PORT', `PORT: port ${port} needs privileges this process lacks; choose a port above 1023`);
  return err;
}

/** Binds the port as the server will (all interfaces) and lets it go again, to fail before anything starts. */
function ensurePortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(portError(err, port)));
    probe.listen({ port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The one line a failed start prints: a setting and its fix when known, never a stack or a secret. */
export function startupFailureLine(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  const e = err as { type?: string };
  if (e?.type === 'StripeAuthenticationError') return 'STRIPE_SECRET_KEY: Stripe rejected the key (invalid or revoked); set a valid secret key';
  if (e?.type === 'StripeConnectionError') return 'STRIPE_API_BASE: cannot reach the Stripe API; check the network, or STRIPE_API_BASE when it is set';
  return `cannot start: ${errorLine(err)}`;
}
