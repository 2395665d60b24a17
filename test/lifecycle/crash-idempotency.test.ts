/**
 * "Same key, same result" across a crash: the compiled gateway runs as its own process against the
 * emulator running here, is killed with SIGKILL at one step of `subscribe` or `changePlan`, restarted
 * on the same database and emulator, and the client retries with the same key. The retry must answer
 * what the first call would have (same subscription), create nothing twice at Stripe, and leave the
 * mirror converged. The steps are reached without mocks: the emulator holds the Stripe request before
 * it runs or its response after it ran (`http.holds`), and the step after the write-through is reached
 * by holding a row lock on the idempotency key from here (PostgreSQL only), so the gateway's final
 * update waits on it while its write-through is already committed; the dead process's sessions are
 * then ended so that update never lands.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/tokens.js';
import type { HoldSpec } from '@billing-gateway/stripe-emulator';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { emulatorWithClient } from '../support/emulator.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { SUBSCRIBE } from './harness.js';

const CHANGE_PLAN = /* GraphQL */ `
  mutation ($input: ChangePlanInput!) { changePlan(input: $input) { id quantity plan { id } } }
`;

interface GqlResult {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

let emu: RunningEmulator;
let stripe: Stripe;
let database: TestDatabase;
let dataDir: string;
let gw: GatewayProcess;
let secret: string;
const databaseUrl = (): string | undefined => database.env.DATABASE_URL;

function start(): Promise<GatewayProcess> {
  return startGatewayProcess({ STRIPE_API_BASE: emu.url, ...database.env, LOG_LEVEL: 'error' }, { dataDir });
}

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  database = await createTestDatabase();
  dataDir = database.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'gw-crash-'));
  gw = await start();
  secret = readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim();
}, 90_000);

afterAll(async () => {
  await gw?.stop({ kill: true });
  await emu?.close();
  await database?.dispose();
  if (!database?.env.DATA_DIR && dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function gql(query: string, variables: Record<string, unknown>, token: string): Promise<GqlResult> {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult;
}

const token = (sub: string) => signDevToken({ sub, email: `${sub}@example.com` }, secret);

/** Kills the gateway and starts it again on the same database, data dir and emulator. */
async function restart(): Promise<void> {
  await gw.stop({ kill: true });
  gw = await start();
}

/**
 * Sends `call` and kills the gateway when the emulator holds the matching request at `spec.phase`;
 * then lets the emulator go on (`before`: the request is dropped, nothing happened at Stripe) and
 * restarts the gateway. Returns what the emulator held (`after`: the response the gateway never got).
 */
async function crashAtStripe(spec: HoldSpec, call: () => Promise<unknown>): Promise<{ body?: unknown }> {
  const hold = emu.http.holds.hold(spec);
  const pending = call().catch(() => null); // the connection dies with the process
  const held = await hold.reached;
  await gw.stop({ kill: true });
  hold.release(spec.phase === 'before' ? 'drop' : 'continue');
  await pending;
  gw = await start();
  return held;
}

/**
 * Kills the gateway after its write-through, before it completes the idempotency key: a row lock on the
 * key (taken while the emulator holds `spec`) makes the final update wait; the kill comes once it waits.
 */
async function crashBeforeCompletion(
  spec: HoldSpec,
  scope: string,
  key: string,
  call: () => Promise<unknown>,
  writtenThrough: (db: pg.Client, held: { body?: unknown }) => Promise<boolean>,
): Promise<{ body?: unknown }> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    const hold = emu.http.holds.hold(spec);
    const pending = call().catch(() => null);
    const held = await hold.reached;
    await client.query('begin');
    const locked = await client.query(`select 1 from "idempotency_keys" where "scope" = $1 and "key" = $2 for update`, [scope, key]);
    expect(locked.rowCount).toBe(1);
    hold.release();
    // Kill once the write-through is committed (read from a second session: ours is inside its own
    // transaction). The completing update cannot land meanwhile: it waits on our lock, or was not sent
    // yet; waiting for that exact statement instead hung under load, when the heartbeat's update took
    // the pool's connection to the same row first.
    const observer = new pg.Client({ connectionString: databaseUrl() });
    await observer.connect();
    try {
      await eventually('the write-through to commit', () => writtenThrough(observer, held));
    } finally {
      await observer.end();
    }
    await gw.stop({ kill: true });
    // PostgreSQL notices a vanished client only when it next talks to it: a statement already sent and
    // waiting on our lock would still commit. A process that died never sent it, so its sessions end here.
    await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
    await client.query('rollback');
    await pending;
    gw = await start();
    return held;
  } finally {
    await client.end();
  }
}

async function liveSubscriptions(customer: string): Promise<Stripe.Subscription[]> {
  return (await stripe.subscriptions.list({ customer, status: 'all' })).data;
}

const SUBSCRIPTIONS_CREATE: Omit<HoldSpec, 'phase'> = { method: 'POST', path: '/v1/subscriptions' };

describe('subscribe: killed at each step, retried with the same key', () => {
  const input = (key: string) => ({ plan: 'pro_monthly', quantity: 2, paymentMethod: 'pm_card_visa', idempotencyKey: key });

  /** The retry's answer, checked against Stripe (one subscription, one invoice) and replayed once more. */
  async function expectOriginal(user: string, key: string, createdId?: string): Promise<void> {
    const t = await token(user);
    const retry = await gql(SUBSCRIBE, { input: input(key) }, t);
    expect(retry.errors).toBeUndefined();
    const sub = retry.data!.subscribe.subscription;
    if (createdId) expect(sub.id).toBe(createdId);
    expect(sub).toMatchObject({ status: 'ACTIVE', quantity: 2, plan: { id: 'pro_monthly' } });
    const customer = sub.customer.id as string;
    expect((await liveSubscriptions(customer)).map((s) => s.id)).toEqual([sub.id]);
    expect((await stripe.invoices.list({ customer })).data).toHaveLength(1);
    const again = await gql(SUBSCRIBE, { input: input(key) }, t);
    expect(again.errors).toBeUndefined();
    expect(again.data!.subscribe.subscription.id).toBe(sub.id);
  }

  it('before Stripe created the subscription', async () => {
    const t = await token('crash_sub_before');
    await crashAtStripe({ ...SUBSCRIPTIONS_CREATE, phase: 'before' }, () => gql(SUBSCRIBE, { input: input('k-before') }, t));
    await expectOriginal('crash_sub_before', 'k-before');
  });

  it('after Stripe created the subscription, before the write-through; another input under the key stays CONFLICT', async () => {
    const t = await token('crash_sub_after');
    const held = await crashAtStripe({ ...SUBSCRIPTIONS_CREATE, phase: 'after' }, () => gql(SUBSCRIBE, { input: input('k-after') }, t));
    const created = held.body as Stripe.Subscription;
    expect(created.id).toMatch(/^sub_/);
    const other = await gql(SUBSCRIBE, { input: { ...input('k-after'), quantity: 3 } }, t);
    expect(other.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    await expectOriginal('crash_sub_after', 'k-after', created.id);
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('after the write-through, before the key was completed', async () => {
    const t = await token('crash_sub_done');
    const held = await crashBeforeCompletion(
      { ...SUBSCRIPTIONS_CREATE, phase: 'after' },
      'customer:crash_sub_done',
      'k-done',
      () => gql(SUBSCRIBE, { input: input('k-done') }, t),
      async (db, h) => (await db.query('select 1 from "subscriptions" where "id" = $1', [(h.body as Stripe.Subscription).id])).rowCount === 1,
    );
    await expectOriginal('crash_sub_done', 'k-done', (held.body as Stripe.Subscription).id);
  });
});

describe('changePlan: killed at each step, retried with the same key', () => {
  /** A Basic subscription of its own for each case. */
  async function basicSubscription(user: string): Promise<{ t: string; id: string; customer: string }> {
    const t = await token(user);
    const r = await gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, t);
    expect(r.errors).toBeUndefined();
    return { t, id: r.data!.subscribe.subscription.id, customer: r.data!.subscribe.subscription.customer.id };
  }
  const input = (id: string, key: string) => ({ subscriptionId: id, plan: 'pro_monthly', idempotencyKey: key });
  const update = (id: string): Omit<HoldSpec, 'phase'> => ({ method: 'POST', path: `/v1/subscriptions/${id}` });

  async function expectOriginal(s: { t: string; id: string; customer: string }, key: string): Promise<void> {
    const retry = await gql(CHANGE_PLAN, { input: input(s.id, key) }, s.t);
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.changePlan).toMatchObject({ id: s.id, plan: { id: 'pro_monthly' } });
    const atStripe = await stripe.subscriptions.retrieve(s.id);
    expect(atStripe.metadata.plan_id).toBe('pro_monthly');
    // The first invoice and the upgrade's prorated one: the upgrade was billed once.
    expect((await stripe.invoices.list({ customer: s.customer })).data).toHaveLength(2);
    expect((await liveSubscriptions(s.customer)).map((x) => x.id)).toEqual([s.id]);
    const again = await gql(CHANGE_PLAN, { input: input(s.id, key) }, s.t);
    expect(again.data!.changePlan).toEqual(retry.data!.changePlan);
  }

  it('before Stripe updated the subscription', async () => {
    const s = await basicSubscription('crash_change_before');
    await crashAtStripe({ ...update(s.id), phase: 'before' }, () => gql(CHANGE_PLAN, { input: input(s.id, 'c-before') }, s.t));
    await expectOriginal(s, 'c-before');
  });

  it('after Stripe updated the subscription, before the write-through', async () => {
    const s = await basicSubscription('crash_change_after');
    await crashAtStripe({ ...update(s.id), phase: 'after' }, () => gql(CHANGE_PLAN, { input: input(s.id, 'c-after') }, s.t));
    await expectOriginal(s, 'c-after');
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('after the write-through, before the key was completed', async () => {
    const s = await basicSubscription('crash_change_done');
    await crashBeforeCompletion(
      { ...update(s.id), phase: 'after' },
      'customer:crash_change_done',
      'c-done',
      () => gql(CHANGE_PLAN, { input: input(s.id, 'c-done') }, s.t),
      async (db) => (await db.query('select 1 from "subscriptions" where "id" = $1 and "plan_id" = $2', [s.id, 'pro_monthly'])).rowCount === 1,
    );
    await expectOriginal(s, 'c-done');
  });
});
