import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, persistDevSecret } from '../../src/config.js';

const SECRET = 'x'.repeat(40);

const scratch = mkdtempSync(join(tmpdir(), 'cfg-'));

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ NODE_ENV: 'test', DATA_DIR: scratch, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: SECRET });
    expect(c.port).toBe(4000);
    expect(c.stripe.emulatorPort).toBe(12111);
    expect(c.sandbox).toBe(true);
    expect(c.mrrMilestones).toEqual([100, 1000, 10000, 100000, 1000000]);
    expect(c.dataDir).toBe(join(process.cwd(), '.data'));
    expect(c.billingCatalog).toMatch(/catalog[/\\]default\.json$/);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.auth.devSecret).toBe(false);
    expect(c.publicUrl).toBe('http://localhost:4000');
    expect(c.usageFlush).toEqual({ ratePerSecond: 100, batchSize: 200, intervalMs: 1000, concurrency: 16, maxAttempts: 8, leaseSeconds: 60, api: 'events' });
  });

  it('parses the usage flusher settings', () => {
    const c = loadConfig({
      NODE_ENV: 'test',
      AUTH_JWT_SECRET: SECRET,
      USAGE_FLUSH_RATE_PER_SECOND: '0',
      USAGE_FLUSH_BATCH_SIZE: '50',
      USAGE_FLUSH_INTERVAL_MS: '250',
      USAGE_FLUSH_CONCURRENCY: '4',
      USAGE_FLUSH_MAX_ATTEMPTS: '3',
      USAGE_FLUSH_LEASE_SECONDS: '5',
      USAGE_FLUSH_API: 'stream',
    });
    expect(c.usageFlush).toEqual({ ratePerSecond: 0, batchSize: 50, intervalMs: 250, concurrency: 4, maxAttempts: 3, leaseSeconds: 5, api: 'stream' });
    expect(errorOf({ USAGE_FLUSH_RATE_PER_SECOND: '1.5' }).message).toBe(
      'USAGE_FLUSH_RATE_PER_SECOND: expected an integer 0-10000 (meter events per second; 0: no flusher in this process), got "1.5"',
    );
    expect(errorOf({ USAGE_FLUSH_BATCH_SIZE: '0' }).variable).toBe('USAGE_FLUSH_BATCH_SIZE');
    expect(errorOf({ USAGE_FLUSH_CONCURRENCY: '1000' }).message).toMatch(/^USAGE_FLUSH_CONCURRENCY: expected an integer 1-256/);
  });

  it('parses every variable', () => {
    const c = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      PUBLIC_URL: 'https://billing.example.com/',
      DATABASE_URL: 'postgres://u:p@db:5432/billing',
      STRIPE_SECRET_KEY: 'sk_test_abc123',
      STRIPE_WEBHOOK_SECRET: 'whsec_abc',
      STRIPE_API_BASE: 'http://127.0.0.1:12111/',
      AUTH_JWKS_URL: 'https://auth.example.com/.well-known/jwks.json',
      AUTH_ISSUER: 'https://auth.example.com/',
      AUTH_AUDIENCE: 'billing',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MRR_MILESTONES: '5000, 50,500',
      PORTAL_RETURN_URL_ALLOWLIST: 'https://app.example.com, http://localhost:3000',
      BILLING_GRACE_PERIOD_DAYS: '3',
      RATE_LIMIT_PER_TOKEN: '0',
      BODY_LIMIT_BYTES: '2048',
      GRAPHQL_MAX_DEPTH: '7',
    });
    expect(c.isProduction).toBe(true);
    expect(c.sandbox).toBe(false);
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe('https://billing.example.com');
    expect(c.stripe.apiBase).toBe('http://127.0.0.1:12111');
    expect(c.auth).toMatchObject({ jwtSecret: undefined, jwksUrl: 'https://auth.example.com/.well-known/jwks.json', devSecret: false });
    expect(c.mrrMilestones).toEqual([50, 500, 5000]);
    expect(c.portalReturnUrlAllowlist).toEqual(['https://app.example.com', 'http://localhost:3000']);
    expect(c.billingGracePeriodDays).toBe(3);
    expect(c.rateLimit.perToken).toBe(0);
    expect(c.bodyLimitBytes).toBe(2048);
    expect(c.graphql.maxDepth).toBe(7);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT: expected an integer 1-65535, got "abc"'],
    [{ PORT: '70000' }, 'PORT: expected an integer 1-65535, got "70000"'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV: expected one of development, production, test, got "staging"'],
    [{ MRR_MILESTONES: '100,lots' }, 'MRR_MILESTONES: expected a comma-separated list'],
    [{ PORTAL_RETURN_URL_ALLOWLIST: 'https://a.com/path' }, 'PORTAL_RETURN_URL_ALLOWLIST: expected a comma-separated list of origins'],
    [{ STRIPE_API_BASE: 'localhost' }, 'STRIPE_API_BASE: expected an absolute http(s) URL'],
    [{ AUTH_JWKS_URL: 'ftp://x/jwks' }, 'AUTH_JWKS_URL: expected an absolute http(s) URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: expected one of'],
  ])('names the variable and what it expects: %j', (env, message) => {
    const err = errorOf(env);
    expect(err.message.startsWith(message)).toBe(true);
    expect(err.variable).toBe(Object.keys(env)[0] === 'NODE_ENV' ? 'NODE_ENV' : Object.keys(env)[0]);
  });

  it('never echoes a secret value', () => {
    for (const [name, value] of [
      ['STRIPE_SECRET_KEY', 'pk_live_leakyleaky'],
      ['STRIPE_WEBHOOK_SECRET', 'notawhsecleaky'],
      ['AUTH_JWT_SECRET', 'shortleaky'],
      ['DATABASE_URL', 'mysql://root:leaky@db'],
      ['REDIS_URL', 'http://:leaky@redis'],
    ] as const) {
      const err = errorOf({ [name]: value });
      expect(err.message.startsWith(`${name}: expected`)).toBe(true);
      expect(err.message).not.toContain('leaky');
    }
  });

  it('requires auth configuration in production', () => {
    expect(errorOf({ NODE_ENV: 'production' }).message).toMatch(/^AUTH_JWT_SECRET: expected .*NODE_ENV=production/);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET }).auth.jwtSecret).toBe(SECRET);
  });

  it('persists the generated development secret under DATA_DIR when asked, never while parsing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'dev-jwt-secret');
    const parsed = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    expect(parsed.auth.devSecret).toBe(true);
    expect(existsSync(file)).toBe(false);
    const first = persistDevSecret(parsed);
    expect(first.auth.jwtSecret).toBe(parsed.auth.jwtSecret);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.auth.jwtSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // A restart reads it back; a second process that generated its own adopts the stored one.
    expect(loadConfig({ NODE_ENV: 'development', DATA_DIR: dir }).auth.jwtSecret).toBe(first.auth.jwtSecret);
    const late = { ...parsed, auth: { ...parsed.auth, jwtSecret: 'y'.repeat(43) } };
    expect(persistDevSecret(late).auth.jwtSecret).toBe(first.auth.jwtSecret);
  });

  it('SANDBOX_CLOCK_START: a date or a time with its offset, as unix seconds; anything else names the variable', () => {
    const at = (v: string) => loadConfig({ NODE_ENV: 'test', DATA_DIR: scratch, SANDBOX_CLOCK_START: v }).stripe.sandboxClockStart;
    expect(at('2027-01-31')).toBe(Date.UTC(2027, 0, 31) / 1000);
    expect(at('2027-02-28T12:00:00Z')).toBe(Date.UTC(2027, 1, 28, 12) / 1000);
    expect(at('2027-02-28T12:00:00+02:00')).toBe(Date.UTC(2027, 1, 28, 10) / 1000);
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: scratch }).stripe.sandboxClockStart).toBeUndefined();
    expect(errorOf({ SANDBOX_CLOCK_START: '31/01/2027' }).message).toBe(
      'SANDBOX_CLOCK_START: expected an ISO 8601 date or time such as 2027-01-31 or 2027-01-31T12:00:00Z, got "31/01/2027"',
    );
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: scratch, PORT: '', DATABASE_URL: '' }).port).toBe(4000);
  });
});

describe('.env.example', () => {
  it('documents every variable the configuration reads, and parses as a valid configuration', async () => {
    const { readFileSync } = await import('node:fs');
    const { CONFIG_VARIABLES } = await import('../../src/config.js');
    const text = readFileSync(join(process.cwd(), '.env.example'), 'utf8');
    const env: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
    expect(Object.keys(env).sort()).toEqual([...CONFIG_VARIABLES].sort());
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    expect(loadConfig({ ...env, DATA_DIR: dir }).port).toBe(4000);
  });
});
