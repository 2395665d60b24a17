/**
 * What the CLI's data commands share with a running gateway: its database (DATABASE_URL, or the
 * PGlite cluster under DATA_DIR) and its Stripe (STRIPE_SECRET_KEY, STRIPE_API_BASE, the sandbox
 * emulator on STRIPE_EMULATOR_PORT, or one started for the command; see stripe-target.ts). Commands
 * call the same services the resolvers call, as an admin.
 */
import type { Viewer } from '../auth/tokens.js';
import type { Catalog } from '../catalog.js';
import type { SubscriptionLifecycleService } from '../billing/subscriptions/lifecycle-service.js';
import { ConfigError, type Config } from '../config.js';
import type { Em, Orm } from '../db/orm.js';
import { gatewayOrm } from './in-gateway.js';
import { errorLine } from '../errors.js';
import { CliError } from './common.js';
import type { StripeTarget } from './stripe-target.js';

/** Who the CLI acts as: an admin (it runs with the operator's access to the database and Stripe). */
export const CLI_VIEWER: Viewer = { sub: 'billing-gateway-cli', role: 'admin' };

/**
 * Opens (and migrates) the gateway's database. PGlite serves one process, so a sandbox gateway that is
 * running holds it: that becomes one line saying what to do instead.
 */
export async function openCliDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>, opts: { migrate?: boolean } = {}): Promise<Orm> {
  const { openOrm } = await import('../db/orm.js');
  // Run by a gateway for the CLI (in-gateway.ts): its database, already open.
  const shared = gatewayOrm();
  if (shared) return shared;
  try {
    const orm = await openOrm({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, migrate: false });
    if (opts.migrate !== false) await migrateIfPending(orm, config.databaseUrl);
    return orm;
  } catch (err) {
    const owner = /in use by process (\d+)/.exec((err as Error).message ?? '');
    if (owner) {
      throw new CliError(
        `the embedded database under ${config.dataDir} is in use by process ${owner[1]} (a running gateway): ` +
          'PGlite serves one process; stop the gateway, or run it and the CLI with DATABASE_URL=postgres://…',
      );
    }
    // Already one line naming DATABASE_URL and the fix (src/db/open-errors.ts).
    if (err instanceof ConfigError) throw new CliError(err.message);
    const where = config.databaseUrl ? 'the database at DATABASE_URL' : `the embedded database under ${config.dataDir}`;
    throw new CliError(`cannot open ${where}: ${errorLine(err)}`);
  }
}

/**
 * Applies the migrations this build has that the database lacks, as `openOrm` does, but asks first
 * with one plain statement (as /readyz does): with none pending, which is nearly always, the
 * migrator is not run (it costs a one-shot command a few round trips and its own start).
 */
async function migrateIfPending(orm: Orm, databaseUrl: string | undefined): Promise<void> {
  const [{ closeOrm, migrateUp }, { MIGRATIONS_TABLE }, { migrationsList }, { explainDatabaseError }] = await Promise.all([
    import('../db/orm.js'),
    import('../db/config.js'),
    import('../db/migrations/index.js'),
    import('../db/open-errors.js'),
  ]);
  try {
    const rows = await orm.em
      .getConnection()
      .execute<{ name: string }[]>(`select "name" from "${MIGRATIONS_TABLE}"`)
      .catch(() => []); // no table yet: everything is pending
    // Names are recorded with or without an extension, depending on the MikroORM version that ran them.
    const applied = new Set(rows.map((r) => r.name.replace(/\.[jt]s$/, '')));
    if (migrationsList.every((m) => applied.has(m.name))) return;
    await migrateUp(orm);
  } catch (err) {
    await closeOrm(orm);
    throw databaseUrl ? explainDatabaseError(err, databaseUrl) : err;
  }
}

/** Runs `fn` with the database open, then closes it. */
export async function withDatabase<T>(config: Config, fn: (em: Em, orm: Orm) => Promise<T>): Promise<T> {
  const orm = await openCliDatabase(config);
  const { closeOrm } = await import('../db/orm.js');
  try {
    return await fn(orm.em.fork(), orm);
  } finally {
    await closeOrm(orm);
  }
}

/** A connection failure to Stripe as one line naming where the CLI looked. */
function unreachable(target: StripeTarget): (err: unknown) => never {
  return (err) => {
    if ((err as { type?: string }).type !== 'StripeConnectionError') throw err;
    throw new CliError(`cannot reach ${target.kind === 'stripe' ? 'Stripe' : `the Stripe emulator at ${target.apiBase}`}: ${errorLine(err)}`);
  };
}

export interface CliBilling {
  orm: Orm;
  catalog: Catalog;
  target: StripeTarget;
  /** Sandbox: the gateway's test clock, which new customers are put on (as the gateway does). */
  testClockId?: string;
  lifecycle: SubscriptionLifecycleService;
  /** The same service on another EntityManager (one per concurrent use, as the gateway has one per request). */
  lifecycleFor(em: Em): SubscriptionLifecycleService;
  close(): Promise<void>;
}

/**
 * The database, Stripe and the subscription lifecycle service, wired like the gateway's request
 * context (src/graphql/context.ts) for writes that must behave exactly like the GraphQL mutations.
 */
export async function openBilling(config: Config, opts: { apiBase?: string } = {}): Promise<CliBilling> {
  const [{ closeOrm }, { loadCatalog }, { resolveStripeTarget }, { ensureTestClock }, { SubscriptionLifecycleService }] = await Promise.all([
    import('../db/orm.js'),
    import('../catalog.js'),
    import('./stripe-target.js'),
    import('../stripe/sandbox.js'),
    import('../billing/subscriptions/lifecycle-service.js'),
  ]);
  const catalog = loadCatalog(config.billingCatalog);
  const orm = await openCliDatabase(config);
  let target: StripeTarget | undefined;
  try {
    target = await resolveStripeTarget(config, opts.apiBase);
    // The clock the sandbox gateway created (found by what it stored, or by its name); created as the
    // gateway would when this database has none yet.
    const testClockId = config.sandbox ? await ensureTestClock(target.stripe, orm.em.fork(), config.stripe.sandboxClockStart).catch(unreachable(target)) : undefined;
    const stripe = target.stripe;
    const lifecycleFor = (forked: Em) =>
      new SubscriptionLifecycleService({ em: forked, stripe, catalog, config, ...(testClockId ? { testClockId } : {}) });
    const opened = target;
    return {
      orm,
      catalog,
      target: opened,
      testClockId,
      lifecycle: lifecycleFor(orm.em.fork()),
      lifecycleFor,
      close: async () => {
        await opened.close();
        await closeOrm(orm);
      },
    };
  } catch (err) {
    await target?.close();
    await closeOrm(orm);
    throw err;
  }
}
