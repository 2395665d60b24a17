import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_CATALOG_PATH } from './catalog.js';
import { defaultDunningSchedule, dunningScheduleSchema, formatDunningSchedule, graceDaysOf, type DunningSchedule } from './dunning-schedule.js';

/**
 * The gateway's configuration: every environment variable docs/configuration.md documents (plus the operational
 * knobs documented in `.env.example`), parsed once at start. A bad value stops the process with a
 * message naming the variable and what it expects; a secret's value is never echoed.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface AuthConfig {
  /** HS256 secret: configured, or (outside production) the generated dev secret. */
  jwtSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** True when jwtSecret is the generated development secret (the start banner may print a token). */
  devSecret: boolean;
}

export interface Config {
  nodeEnv: NodeEnv;
  isProduction: boolean;
  logLevel: LogLevel;
  port: number;
  /** Base URL the gateway is reached at (banner, webhook endpoint registration). */
  publicUrl: string;
  /** Absolute path of the data directory (PGlite, dev secret). */
  dataDir: string;
  /** Unset: embedded PGlite under dataDir. */
  databaseUrl?: string;
  stripe: {
    secretKey?: string;
    apiBase?: string;
    webhookSecret?: string;
    emulatorPort: number;
    /** Unix seconds the sandbox test clock starts at when it is first created (default: now). */
    sandboxClockStart?: number;
    /** STRIPE_SANDBOX=true: the emulator on purpose, which production requires (assertProductionStripe). */
    sandboxOptIn?: boolean;
  };
  /** No STRIPE_SECRET_KEY: talk to the (in-process or STRIPE_API_BASE) emulator. */
  sandbox: boolean;
  auth: AuthConfig;
  redisUrl?: string;
  /** Thresholds in major units, ascending, applied per currency. */
  mrrMilestones: number[];
  /** Absolute path of the plan catalog file. */
  billingCatalog: string;
  /** A stylesheet the web pages load after their own (theming); unset: none. */
  webThemeCss?: string;
  /** Allowed origins (scheme://host[:port]) for portal/checkout return URLs; empty: any http(s) URL. */
  portalReturnUrlAllowlist: string[];
  /** Browser origins allowed to call /graphql cross-origin: '*' = any, [] = none (same origin only). */
  corsOrigins: '*' | string[];
  /** Days after the first failed payment on which access is first restricted (soft suspension); see `dunning`. */
  billingGracePeriodDays: number;
  /** Dunning (src/billing/dunning/README.md). */
  dunning: {
    schedule: DunningSchedule;
    /** Outgoing signed webhook for dunning notifications (with webhookSecret); unset: log lines only. */
    webhookUrl?: string;
    webhookSecret?: string;
    /** How often due steps are looked for in real time (test clocks move them at once). */
    tickSeconds: number;
  };
  rateLimit: {
    /** Requests per window per authenticated subject; 0 disables. */
    perToken: number;
    /** Requests per window per client address for calls without a valid token; 0 disables. */
    perAddress: number;
    windowSeconds: number;
  };
  /** Reverse proxies in front of the gateway whose X-Forwarded-For is trusted (per-address rate limit). */
  trustProxy: number;
  /** Largest accepted JSON request body, in bytes. */
  bodyLimitBytes: number;
  graphql: {
    maxDepth: number;
    maxCost: number;
    /** Stripe API calls one GraphQL request may make (checked before it runs, and counted while it runs). */
    maxStripeCalls: number;
    /** Lexical tokens a GraphQL document may have (the parser stops there). */
    maxTokens: number;
  };
  /** Live-event WebSockets; 0 disables a limit. */
  websocket: {
    /** Sockets open at once per token subject (`sub`). */
    maxSocketsPerToken: number;
    /** Operations open at once on one socket (live subscriptions and queries still running). */
    maxSubscriptionsPerSocket: number;
    /** Bytes a client has not read yet, summed over all sockets of this process. */
    maxBufferedBytes: number;
    /** Bytes one socket may hold unsent. */
    maxBufferedBytesPerSocket: number;
  };
  /** When /readyz calls the sync stuck (src/http/health.ts `syncCheck`). */
  syncReadiness: { stuckSeconds: number; stuckFailures: number };
  /** The webhook worker's re-reads from Stripe (src/stripe/sync/reread.ts), per process. */
  stripeReread: { ratePerSecond: number; concurrency: number };
  /** The meter-event flusher (usage ledger → Stripe Billing Meters), per process. */
  usageFlush: {
    /** Meter events sent per second by this process; 0: no flusher here. */
    ratePerSecond: number;
    /** Ledger rows claimed per batch. */
    batchSize: number;
    /** Idle poll period (a reportUsage wakes it at once). */
    intervalMs: number;
    /** Requests in flight at once. */
    concurrency: number;
    /** Attempts a permanently rejected row gets before it is parked. */
    maxAttempts: number;
    /** How long claimed rows stay with their flusher; a crashed one's rows are resent after it. */
    leaseSeconds: number;
    /** `stream`: new rows go up to 100 per request on Stripe's v2 meter event stream; `events`: one request per row. */
    api: 'events' | 'stream';
  };
}

type Env = Record<string, string | undefined>;

/** Each variable: a parser returning the value or an "expected …" description. */
interface VarSpec<T> {
  secret?: boolean;
  parse(raw: string): T | Invalid;
}
class Invalid {
  constructor(readonly expected: string) {}
}

function zodVar<T>(schema: z.ZodType<T>, expected: string, secret = false): VarSpec<T> {
  return {
    secret,
    parse(raw) {
      const r = schema.safeParse(raw);
      return r.success ? r.data : new Invalid(expected);
    },
  };
}

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** An integer variable whose expected text is written from its bounds: `an integer[ number of <unit>] min-max[ (<note>)]`. */
const intVar = (min: number, max: number, unit = '', note = '') =>
  zodVar(intIn(min, max), `an integer${unit && ` number of ${unit}`} ${min}-${max}${note && ` (${note})`}`);

/** A limit from 0 (off) up: `a non-negative integer[ number of <unit>] (<note>; 0 disables)`. */
const limitVar = (max: number, note: string, unit = '') =>
  zodVar(intIn(0, max), `a non-negative integer${unit && ` number of ${unit}`} (${note}; 0 disables)`);

const httpUrl = z.url({ protocol: /^https?$/ });
const origin = httpUrl.transform((u) => new URL(u)).refine((u) => u.pathname === '/' && !u.search && !u.hash).transform((u) => u.origin);

const commaList = <T>(item: z.ZodType<T>) =>
  z.string().transform((s, ctx) => {
    const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
    const out: T[] = [];
    for (const p of parts) {
      const r = item.safeParse(p);
      if (!r.success) {
        ctx.addIssue({ code: 'custom', message: p });
        return z.NEVER;
      }
      out.push(r.data);
    }
    return out;
  });

const positiveDecimal = z
  .string()
  .regex(/^\d+(\.\d+)?$/)
  .transform(Number)
  .pipe(z.number().positive());

const VARS = {
  NODE_ENV: zodVar(z.enum(['development', 'production', 'test']), 'one of development, production, test'),
  LOG_LEVEL: zodVar(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'one of fatal, error, warn, info, debug, trace, silent',
  ),
  PORT: intVar(1, 65535),
  PUBLIC_URL: zodVar(httpUrl.transform((u) => u.replace(/\/+$/, '')), 'an absolute http(s) URL such as http://localhost:4000'),
  DATA_DIR: zodVar(z.string().min(1), 'a directory path'),
  DATABASE_URL: zodVar(
    z.string().regex(/^postgres(ql)?:\/\/.+/),
    'a postgres:// or postgresql:// connection URL (unset: embedded PGlite)',
    true,
  ),
  STRIPE_SECRET_KEY: zodVar(z.string().regex(/^(sk|rk)_(test|live)_\w+$/), 'a Stripe secret key (sk_test_…, sk_live_… or rk_…)', true),
  STRIPE_API_BASE: zodVar(httpUrl.transform((u) => u.replace(/\/+$/, '')), 'an absolute http(s) URL such as http://127.0.0.1:12111'),
  STRIPE_WEBHOOK_SECRET: zodVar(z.string().regex(/^whsec_\S+$/), 'a webhook signing secret starting with whsec_', true),
  STRIPE_EMULATOR_PORT: intVar(0, 65535, '', '0: any free port'),
  STRIPE_SANDBOX: zodVar(
    z.enum(['true', 'false', '1', '0']).transform((b) => b === 'true' || b === '1'),
    'true or false (true: run the built-in Stripe emulator, also with NODE_ENV=production)',
  ),
  SANDBOX_CLOCK_START: zodVar(
    z.union([z.iso.date(), z.iso.datetime({ offset: true })]).transform((s) => Math.floor(Date.parse(s) / 1000)),
    'an ISO 8601 date or time such as 2027-01-31 or 2027-01-31T12:00:00Z',
  ),
  AUTH_JWT_SECRET: zodVar(z.string().min(32), 'an HS256 secret of at least 32 characters', true),
  AUTH_JWKS_URL: zodVar(httpUrl, 'an absolute http(s) URL of a JWKS document'),
  AUTH_ISSUER: zodVar(z.string().min(1), 'the expected token issuer (iss)'),
  AUTH_AUDIENCE: zodVar(z.string().min(1), 'the expected token audience (aud)'),
  REDIS_URL: zodVar(z.string().regex(/^rediss?:\/\/.+/), 'a redis:// or rediss:// URL', true),
  MRR_MILESTONES: zodVar(
    commaList(positiveDecimal).refine((l) => l.length > 0),
    'a comma-separated list of positive amounts in major units, e.g. 100,1000,10000',
  ),
  BILLING_CATALOG: zodVar(z.string().min(1), 'the path of a plan catalog JSON file'),
  WEB_THEME_CSS: zodVar(z.string().min(1), 'the path of a CSS file'),
  PORTAL_RETURN_URL_ALLOWLIST: zodVar(commaList(origin), 'a comma-separated list of origins such as https://app.example.com'),
  CORS_ORIGINS: zodVar(z.union([z.literal('*'), commaList(origin)]), '* or a comma-separated list of origins such as https://app.example.com'),
  BILLING_GRACE_PERIOD_DAYS: intVar(0, 365, 'days'),
  DUNNING_SCHEDULE: zodVar(
    dunningScheduleSchema,
    'comma-separated action:day steps (actions reminder, warning, soft_suspension, suspension; days increasing, suspension last), e.g. reminder:1,warning:4,soft_suspension:7,suspension:8',
  ),
  DUNNING_WEBHOOK_URL: zodVar(httpUrl, 'an absolute http(s) URL that receives dunning notifications'),
  DUNNING_WEBHOOK_SECRET: zodVar(z.string().min(16), 'a signing secret of at least 16 characters', true),
  DUNNING_TICK_SECONDS: intVar(1, 3600, 'seconds'),
  RATE_LIMIT_PER_TOKEN: limitVar(10_000_000, 'requests per window'),
  RATE_LIMIT_PER_ADDRESS: limitVar(10_000_000, 'requests per window'),
  RATE_LIMIT_WINDOW_SECONDS: intVar(1, 86_400, 'seconds'),
  BODY_LIMIT_BYTES: intVar(1024, 100 * 1024 * 1024, 'bytes'),
  TRUST_PROXY: zodVar(intIn(0, 10), 'the number of reverse proxies in front of the gateway, 0-10 (0: use the socket address)'),
  GRAPHQL_MAX_DEPTH: intVar(1, 100),
  SYNC_STUCK_SECONDS: intVar(0, 7 * 86_400, 'seconds', '0: /readyz does not check the sync'),
  SYNC_STUCK_FAILURES: intVar(1, 1000),
  GRAPHQL_MAX_COST: zodVar(intIn(1, 10_000_000), 'a positive integer'),
  GRAPHQL_MAX_STRIPE_CALLS: intVar(1, 1000, '', 'Stripe API calls per request'),
  GRAPHQL_MAX_TOKENS: intVar(100, 1_000_000, '', 'tokens per GraphQL document'),
  WS_MAX_SOCKETS_PER_TOKEN: limitVar(1_000_000, 'WebSockets per token subject'),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: limitVar(100_000, 'operations per WebSocket'),
  WS_MAX_BUFFERED_BYTES: limitVar(2 ** 40, 'unsent, all WebSockets together', 'bytes'),
  WS_MAX_BUFFERED_BYTES_PER_SOCKET: limitVar(2 ** 40, 'unsent, per WebSocket', 'bytes'),
  STRIPE_REREAD_RATE: intVar(1, 10_000, '', 're-reads started per second'),
  STRIPE_REREAD_CONCURRENCY: intVar(1, 256),
  USAGE_FLUSH_RATE_PER_SECOND: intVar(0, 10_000, '', 'meter events per second; 0: no flusher in this process'),
  USAGE_FLUSH_BATCH_SIZE: intVar(1, 10_000),
  USAGE_FLUSH_INTERVAL_MS: intVar(10, 3_600_000, 'milliseconds'),
  USAGE_FLUSH_CONCURRENCY: intVar(1, 256),
  USAGE_FLUSH_MAX_ATTEMPTS: intVar(1, 100),
  USAGE_FLUSH_LEASE_SECONDS: intVar(1, 3600, 'seconds'),
  USAGE_FLUSH_API: zodVar(z.enum(['events', 'stream']), 'one of events, stream'),
} satisfies Record<string, VarSpec<unknown>>;

export type ConfigVariable = keyof typeof VARS;
/** Every variable the gateway reads (documented in .env.example). */
export const CONFIG_VARIABLES = Object.keys(VARS) as ConfigVariable[];

type Parsed = { [K in ConfigVariable]?: Exclude<ReturnType<(typeof VARS)[K]['parse']>, Invalid> };

function parseAll(env: Env): Parsed {
  const out: Record<string, unknown> = {};
  for (const name of CONFIG_VARIABLES) {
    const raw = env[name];
    // An empty value counts as unset, as docker-compose and .env files commonly write them.
    if (raw === undefined || raw.trim() === '') continue;
    const spec: VarSpec<unknown> = VARS[name];
    const value = spec.parse(raw.trim());
    if (value instanceof Invalid) {
      const got = spec.secret ? 'an invalid value' : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
      throw new ConfigError(name, `${name}: expected ${value.expected}, got ${got}`);
    }
    out[name] = value;
  }
  return out as Parsed;
}

/**
 * DUNNING_SCHEDULE, or the default derived from BILLING_GRACE_PERIOD_DAYS (the day soft suspension
 * starts). Both set: they must agree, so neither silently wins. A webhook URL needs its secret.
 */
function dunningConfig(v: Parsed): Config['dunning'] {
  const grace = v.BILLING_GRACE_PERIOD_DAYS;
  const schedule = v.DUNNING_SCHEDULE ?? defaultDunningSchedule(grace ?? 7);
  if (v.DUNNING_SCHEDULE && grace !== undefined && graceDaysOf(schedule) !== grace) {
    throw new ConfigError(
      'DUNNING_SCHEDULE',
      `DUNNING_SCHEDULE: expected its first soft_suspension (or suspension) on day ${grace} as BILLING_GRACE_PERIOD_DAYS says, got ${JSON.stringify(formatDunningSchedule(schedule))}`,
    );
  }
  if (v.DUNNING_WEBHOOK_URL && !v.DUNNING_WEBHOOK_SECRET) {
    throw new ConfigError('DUNNING_WEBHOOK_SECRET', 'DUNNING_WEBHOOK_SECRET: expected a signing secret when DUNNING_WEBHOOK_URL is set');
  }
  if (v.DUNNING_WEBHOOK_SECRET && !v.DUNNING_WEBHOOK_URL) {
    throw new ConfigError('DUNNING_WEBHOOK_URL', 'DUNNING_WEBHOOK_URL: expected the receiving URL when DUNNING_WEBHOOK_SECRET is set');
  }
  return { schedule, webhookUrl: v.DUNNING_WEBHOOK_URL, webhookSecret: v.DUNNING_WEBHOOK_SECRET, tickSeconds: v.DUNNING_TICK_SECONDS ?? 30 };
}

const DEV_SECRET_FILE = 'dev-jwt-secret';

/** The development HS256 secret persisted in DATA_DIR, if there is one. */
function storedDevSecret(dataDir: string): string | undefined {
  try {
    const existing = readFileSync(join(dataDir, DEV_SECRET_FILE), 'utf8').trim();
    return existing.length >= 32 ? existing : undefined;
  } catch {
    return undefined; // not created yet
  }
}

/**
 * Parse and validate the configuration. Throws ConfigError on the first bad variable; writes nothing.
 * Outside production and without AUTH_JWT_SECRET/AUTH_JWKS_URL, the development secret is the one
 * persisted in DATA_DIR/dev-jwt-secret, else a new one that `persistDevSecret` keeps there.
 */
export function loadConfig(env: Env = process.env): Config {
  const v = parseAll(env);
  const nodeEnv: NodeEnv = v.NODE_ENV ?? 'development';
  const isProduction = nodeEnv === 'production';
  const port = v.PORT ?? 4000;
  const dataDir = resolve(v.DATA_DIR ?? '.data');

  let jwtSecret = v.AUTH_JWT_SECRET;
  let devSecretUsed = false;
  if (jwtSecret === undefined && v.AUTH_JWKS_URL === undefined) {
    if (isProduction)
      throw new ConfigError('AUTH_JWT_SECRET', 'AUTH_JWT_SECRET: expected an HS256 secret (or set AUTH_JWKS_URL) when NODE_ENV=production');
    jwtSecret = storedDevSecret(dataDir) ?? randomBytes(32).toString('base64url');
    devSecretUsed = true;
  }

  const dunning = dunningConfig(v);
  if (v.STRIPE_SANDBOX && v.STRIPE_SECRET_KEY) {
    throw new ConfigError('STRIPE_SANDBOX', 'STRIPE_SANDBOX: expected false or unset when STRIPE_SECRET_KEY is set (the gateway talks to Stripe or to its emulator, not both)');
  }

  const catalogPath = v.BILLING_CATALOG ? (isAbsolute(v.BILLING_CATALOG) ? v.BILLING_CATALOG : resolve(v.BILLING_CATALOG)) : DEFAULT_CATALOG_PATH;

  return {
    nodeEnv,
    isProduction,
    logLevel: v.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    port,
    publicUrl: v.PUBLIC_URL ?? `http://localhost:${port}`,
    dataDir,
    databaseUrl: v.DATABASE_URL,
    stripe: {
      secretKey: v.STRIPE_SECRET_KEY,
      apiBase: v.STRIPE_API_BASE,
      webhookSecret: v.STRIPE_WEBHOOK_SECRET,
      emulatorPort: v.STRIPE_EMULATOR_PORT ?? 12111,
      ...(v.SANDBOX_CLOCK_START !== undefined ? { sandboxClockStart: v.SANDBOX_CLOCK_START } : {}),
      ...(v.STRIPE_SANDBOX ? { sandboxOptIn: true } : {}),
    },
    sandbox: v.STRIPE_SECRET_KEY === undefined,
    auth: {
      jwtSecret,
      jwksUrl: v.AUTH_JWKS_URL,
      issuer: v.AUTH_ISSUER,
      audience: v.AUTH_AUDIENCE,
      devSecret: devSecretUsed,
    },
    redisUrl: v.REDIS_URL,
    mrrMilestones: [...new Set(v.MRR_MILESTONES ?? [100, 1000, 10000, 100000, 1000000])].sort((a, b) => a - b),
    billingCatalog: catalogPath,
    ...(v.WEB_THEME_CSS ? { webThemeCss: resolve(v.WEB_THEME_CSS) } : {}),
    portalReturnUrlAllowlist: v.PORTAL_RETURN_URL_ALLOWLIST ?? [],
    // Development: any origin (a frontend on another port just works); production: only those listed.
    corsOrigins: v.CORS_ORIGINS ?? (nodeEnv === 'production' ? [] : '*'),
    billingGracePeriodDays: graceDaysOf(dunning.schedule) ?? v.BILLING_GRACE_PERIOD_DAYS ?? 7,
    dunning,
    rateLimit: {
      perToken: v.RATE_LIMIT_PER_TOKEN ?? 6000,
      perAddress: v.RATE_LIMIT_PER_ADDRESS ?? 1200,
      windowSeconds: v.RATE_LIMIT_WINDOW_SECONDS ?? 60,
    },
    trustProxy: v.TRUST_PROXY ?? 0,
    bodyLimitBytes: v.BODY_LIMIT_BYTES ?? 1024 * 1024,
    graphql: {
      maxDepth: v.GRAPHQL_MAX_DEPTH ?? 10,
      maxCost: v.GRAPHQL_MAX_COST ?? 20_000,
      maxStripeCalls: v.GRAPHQL_MAX_STRIPE_CALLS ?? 10,
      maxTokens: v.GRAPHQL_MAX_TOKENS ?? 10_000,
    },
    websocket: {
      maxSocketsPerToken: v.WS_MAX_SOCKETS_PER_TOKEN ?? 20,
      maxSubscriptionsPerSocket: v.WS_MAX_SUBSCRIPTIONS_PER_SOCKET ?? 20,
      maxBufferedBytes: v.WS_MAX_BUFFERED_BYTES ?? 64 * 1024 * 1024,
      maxBufferedBytesPerSocket: v.WS_MAX_BUFFERED_BYTES_PER_SOCKET ?? 8 * 1024 * 1024,
    },
    syncReadiness: { stuckSeconds: v.SYNC_STUCK_SECONDS ?? 900, stuckFailures: v.SYNC_STUCK_FAILURES ?? 3 },
    // Below Stripe's live limit of 100 read requests per second, leaving room for the API's own calls.
    stripeReread: { ratePerSecond: v.STRIPE_REREAD_RATE ?? 80, concurrency: v.STRIPE_REREAD_CONCURRENCY ?? 16 },
    usageFlush: {
      // A tenth of Stripe's live limit for POST /v1/billing/meter_events (1,000 calls/s; see
      // src/stripe/meter-events/README.md), so several replicas and other API traffic fit beside it.
      ratePerSecond: v.USAGE_FLUSH_RATE_PER_SECOND ?? 100,
      // A stream request carries 100 rows: a batch of 1,000 is 10 requests for one claim and one marking.
      batchSize: v.USAGE_FLUSH_BATCH_SIZE ?? ((v.USAGE_FLUSH_API ?? 'events') === 'stream' ? 1000 : 200),
      intervalMs: v.USAGE_FLUSH_INTERVAL_MS ?? 1000,
      concurrency: v.USAGE_FLUSH_CONCURRENCY ?? 16,
      maxAttempts: v.USAGE_FLUSH_MAX_ATTEMPTS ?? 8,
      leaseSeconds: v.USAGE_FLUSH_LEASE_SECONDS ?? 60,
      api: v.USAGE_FLUSH_API ?? 'events',
    },
  };
}

/**
 * Keeps a generated development secret in DATA_DIR/dev-jwt-secret (mode 0600), so the CLI `token`
 * command and a restarted gateway agree: the composition roots (the gateway's start, `token`) call it,
 * `loadConfig` never writes. A secret another process stored first wins: the config returned carries it.
 */
export function persistDevSecret(config: Config): Config {
  if (!config.auth.devSecret) return config;
  const file = join(config.dataDir, DEV_SECRET_FILE);
  try {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${config.auth.jwtSecret}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return config;
  } catch (err) {
    const stored = (err as NodeJS.ErrnoException).code === 'EEXIST' ? storedDevSecret(config.dataDir) : undefined;
    if (stored) return stored === config.auth.jwtSecret ? config : { ...config, auth: { ...config.auth, jwtSecret: stored } };
    throw new ConfigError('DATA_DIR', `DATA_DIR: expected a writable directory for the development signing secret (${(err as Error).message})`);
  }
}

/**
 * A server in production talks to Stripe. Without STRIPE_SECRET_KEY it would quietly run the emulator
 * (fake payments, nothing reaches Stripe), so that needs STRIPE_SANDBOX=true, asked for by name.
 */
export function assertProductionStripe(config: Pick<Config, 'isProduction' | 'sandbox' | 'stripe'>): void {
  if (config.isProduction && config.sandbox && !config.stripe.sandboxOptIn) {
    throw new ConfigError(
      'STRIPE_SECRET_KEY',
      'STRIPE_SECRET_KEY: expected a Stripe secret key when NODE_ENV=production (without one the gateway runs its Stripe emulator); set it, or set STRIPE_SANDBOX=true to run the sandbox in production on purpose',
    );
  }
}
