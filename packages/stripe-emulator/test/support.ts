import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import Stripe from 'stripe';
import { vi } from 'vitest';
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../src/index.js';

/** An emulator on a free port and an SDK client pointed at it. */
export async function emulatorWithClient(
  options: StartEmulatorOptions = {},
  sdk: Stripe.StripeConfig = {},
): Promise<{ emu: RunningEmulator; stripe: Stripe }> {
  const emu = await startEmulator({ port: 0, ...options });
  const stripe = new Stripe('sk_test_emulator', {
    host: '127.0.0.1',
    port: emu.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    ...sdk,
  });
  return { emu, stripe };
}

export interface Received {
  body: string;
  headers: IncomingHttpHeaders;
}

/**
 * A tiny webhook receiver: records each POST and answers with what `respond` returns
 * (a status code; default 200). `waitFor(n)` resolves once n requests arrived.
 */
export class Receiver {
  readonly received: Received[] = [];
  respond: (r: Received, index: number) => number | Promise<number> = () => 200;
  private server: Server;
  private waiters: { n: number; resolve: () => void }[] = [];

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers };
        const index = this.received.push(r) - 1;
        void Promise.resolve(this.respond(r, index)).then((status) => {
          res.writeHead(status, { 'Content-Type': 'text/plain' });
          res.end('ok');
          this.waiters = this.waiters.filter((w) => (this.received.length >= w.n ? (w.resolve(), false) : true));
        });
      });
    });
  }

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks`;
  }

  waitFor(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Verified events, in arrival order (throws if any signature is bad). */
  events(stripe: Stripe, secret: string): Stripe.Event[] {
    return this.received.map((r) => stripe.webhooks.constructEvent(r.body, String(r.headers['stripe-signature']), secret));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** JSON POST/GET to the emulator's `/_emulator` controls. */
export async function control(emu: RunningEmulator, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${emu.url}/_emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json();
  if (!res.ok) throw Object.assign(new Error(`control ${path}: ${res.status}`), { status: res.status, body: json });
  return json;
}

/** The Stripe error a call fails with (fails the test when the call succeeds). */
export async function refusal(p: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await p;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the request to be refused');
}

/**
 * Runs `probe` until `accept` holds for what it returns (truthiness by default) and returns that value;
 * at the deadline it fails with `what` and the last value or error. The package runs on its own, so
 * this is its copy of the gateway tests' `eventually` (test/support/eventually.ts), not an import of it.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean = Boolean,
  { timeout = 50_000, interval = 20 }: { timeout?: number; interval?: number } = {},
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (!accept(value)) throw new Error(`last value: ${inspect(value, { depth: 4, breakLength: Infinity })}`);
      return value;
    },
    { timeout, interval, message: `timed out after ${timeout} ms waiting for ${what}` },
  );
}
