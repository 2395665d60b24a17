/**
 * The gateway as `npm start` composes it (src/gateway.ts `start`: sandbox emulator, its test clock, webhook
 * worker, signals, dunning and its ticker), in this process on free ports, plus a real HTTP receiver for
 * the outgoing dunning webhook and helpers to move the test clock and wait until its webhooks are processed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { signDevToken, type Role } from '../../src/auth/tokens.js';
import { start, type RunningGateway } from '../../src/gateway.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/gateway-process.js';
import { advanceClock } from '../support/test-clock.js';

export const JWT_SECRET = 'dunning-test-secret-0123456789-abcdefghijkl';
export const HOOK_SECRET = 'dunning-hook-secret-0123456789';
export const DAY = 86_400;

export interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** When the request arrived (ms since the epoch), to check a signature's timestamp against. */
  receivedAt: number;
}

/** A webhook receiver: records every request; answers `status()` (default 200). */
export interface Receiver {
  url: string;
  received: Received[];
  status: () => number;
  setStatus(fn: () => number): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  let status = () => 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/dunning`,
    received,
    status: () => status(),
    setStatus(fn) {
      status = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface DunningGateway {
  gw: RunningGateway;
  stripe: Stripe;
  clockId: string;
  emulatorUrl: string;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ data?: any; errors?: any[] }>;
  token(sub: string, role?: Role): Promise<string>;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  /** Moves the test clock to `frozenTime` and waits until every event it emitted is processed. */
  advanceTo(frozenTime: number): Promise<void>;
  /** Waits until every event the emulator emitted so far (since the gateway registered) is processed. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startDunningGateway(env: Record<string, string> = {}): Promise<DunningGateway> {
  const db: TestDatabase = await createTestDatabase();
  const ownDataDir = db.env.DATA_DIR ? null : mkdtempSync(join(tmpdir(), 'gw-dunning-'));
  const port = await freePort();
  const gw = await start({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    STRIPE_EMULATOR_PORT: String(await freePort()),
    AUTH_JWT_SECRET: JWT_SECRET,
    RATE_LIMIT_PER_TOKEN: '0',
    RATE_LIMIT_PER_ADDRESS: '0',
    ...db.env,
    ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}),
    ...env,
  });
  const stripe = gw.stripe.stripe;
  const clockId = gw.stripe.testClockId!;
  const sql = async <T>(query: string, params: unknown[] = []) => (await gw.orm.em.fork().getConnection().execute(query, params)) as T[];
  // Events the emulator emitted before the gateway registered its endpoint are never delivered.
  const seen = new Set<string>();
  for await (const e of stripe.events.list({ limit: 100 })) seen.add(e.id);

  async function newEventIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const e of stripe.events.list({ limit: 100 })) {
      if (seen.has(e.id)) break;
      ids.push(e.id);
    }
    return ids;
  }

  async function settle(): Promise<void> {
    const ids = await newEventIds();
    if (ids.length === 0) return;
    await eventually(`${ids.length} webhook events processed`, async () => {
      const rows = await sql<{ n: string | number }>(`select count(*) as n from webhook_events where id in (?) and status in ('processed', 'ignored')`, [ids]);
      return Number(rows[0]!.n) === ids.length;
    });
    for (const id of ids) seen.add(id);
  }

  return {
    gw,
    stripe,
    clockId,
    emulatorUrl: gw.stripe.emulatorUrl!,
    async gql(query, variables, token) {
      const res = await fetch(`http://127.0.0.1:${gw.port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data?: any; errors?: any[] };
    },
    token: (sub, role) => signDevToken({ sub, ...(role ? { role } : {}) }, JWT_SECRET),
    sql,
    async advanceTo(frozenTime) {
      await advanceClock(stripe, clockId, frozenTime);
      await eventually('the test clock to be ready', async () => (await stripe.testHelpers.testClocks.retrieve(clockId)).status === 'ready');
      await settle();
    },
    settle,
    async close() {
      await gw.stop();
      await db.dispose();
      if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Stripe's retries on days 3 and 6 (the default 3, 5, 7 days apart would fail again on day 8, the
 * very moment of the suspension step: which of the two the worker sees first is a race), so every
 * attempt number of a dunning timeline is deterministic.
 */
export async function retryOnDaysThreeAndSix(emulatorUrl: string): Promise<void> {
  const res = await fetch(`${emulatorUrl}/_emulator/billing/settings`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'retry_days[]=3&retry_days[]=3&retry_days[]=7',
  });
  if (res.status !== 200) throw new Error(`emulator billing settings: ${res.status} ${await res.text()}`);
}
