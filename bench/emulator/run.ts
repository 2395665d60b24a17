/**
 * SDK-driven create throughput of the emulator (the `emulator` part of `npm run bench`): a few
 * concurrent `stripe` clients each create a customer with a card and then a subscription.
 *
 *   npm run bench -- emulator [--seconds 5] [--clients 8] [--in-process] [--emulator-module path]
 *   node --experimental-transform-types --no-warnings bench/emulator/run.ts [same options]
 *
 * By default the emulator runs in a child process, so the clients do not share its event loop.
 * Besides the rate it reports the CPU time per request of each side (user + system), which a busy
 * machine changes much less than the rate. `--emulator-module` measures another copy of the emulator
 * (e.g. an older commit's `packages/stripe-emulator/src/index.ts` unpacked inside this checkout, so its packages resolve).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Stripe from 'stripe';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.ts';
import { numberOption, runIfMain } from '../lib/report.ts';

// Relative `.js` imports of the TypeScript sources resolve to their `.ts` (this file needs the `.ts` name).
await import(new URL('./resolve-ts.ts', import.meta.url).href);

// Running TypeScript directly turns on source-mapped stack traces, and the SDK takes a stack trace
// per request (`new Error().stack`, for call sites in its errors): with source maps that alone was
// ~10% of the client's CPU. A compiled client does not pay it, so the bench does not either.
process.setSourceMapsEnabled(false);

const DEFAULT_MODULE = fileURLToPath(new URL('../../packages/stripe-emulator/src/index.ts', import.meta.url));

async function startServer(modulePath: string): Promise<Server> {
  const { startEmulator } = (await import(pathToFileURL(modulePath).href)) as typeof import('@billing-gateway/stripe-emulator');
  const emu = await startEmulator({ port: 0 });
  return { port: emu.port, stop: () => emu.close(), cpu: async () => process.cpuUsage() };
}

// The child: `run.ts --serve <module>` serves the emulator and reports its CPU time on request.
const serveAt = process.argv.indexOf('--serve');
if (serveAt > 0 && process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const { port, stop } = await startServer(process.argv[serveAt + 1] ?? DEFAULT_MODULE);
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  // The parent asks for this process's CPU time around the measured window.
  process.on('message', () => process.send!(process.cpuUsage()));
  process.stdout.write(`${port}\n`);
}

interface Server {
  port: number;
  stop: () => Promise<void>;
  cpu: () => Promise<NodeJS.CpuUsage>;
}

async function spawnServer(modulePath: string): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', modulePath], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  });
  return {
    port,
    cpu: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as NodeJS.CpuUsage));
        child.send('cpu');
      }),
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function measure(ctx: BenchContext): Promise<BenchRow[]> {
  const seconds = numberOption(ctx, 'seconds', 5);
  const clients = numberOption(ctx, 'clients', 8);
  const inProcess = ctx.options['in-process'] === 'true';
  const modulePath = ctx.options['emulator-module'] ? resolvePath(ctx.options['emulator-module']) : DEFAULT_MODULE;
  const server = inProcess ? await startServer(modulePath) : await spawnServer(modulePath);
  const stripe = new Stripe('sk_test_bench', { host: '127.0.0.1', port: server.port, protocol: 'http', maxNetworkRetries: 0 });
  try {
    const product = await stripe.products.create({ name: 'Bench' });
    const price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1000, recurring: { interval: 'month' } });
    const withSubscriptions = await subscriptionsServed(stripe, price.id);
    const second = withSubscriptions ? 'subscription' : 'price';

    const pair = async (): Promise<void> => {
      const customer = await stripe.customers.create({ email: 'bench@example.com', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
      if (withSubscriptions) await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
      else await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1000 });
    };
    // Warm up (JIT, sockets).
    await Promise.all(Array.from({ length: clients }, () => pair()));

    let pairs = 0;
    const deadline = Date.now() + seconds * 1000;
    const serverCpu0 = await server.cpu();
    const clientCpu0 = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < deadline) {
          await pair();
          pairs++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const clientCpu = process.cpuUsage(clientCpu0);
    const serverCpu1 = await server.cpu();
    const creates = pairs * 2;
    const msPer = (u: { user: number; system: number }): number => (u.user + u.system) / 1000 / creates;
    const serverCpu = { user: serverCpu1.user - serverCpu0.user, system: serverCpu1.system - serverCpu0.system };
    const rate = creates / elapsed;
    ctx.log(
      `emulator: ${modulePath === DEFAULT_MODULE ? 'this checkout' : modulePath}, ${clients} clients, ${elapsed.toFixed(1)} s, customer + ${second}: ` +
        `${rate.toFixed(0)} creates/s; CPU per create: emulator ${msPer(serverCpu).toFixed(3)} ms, client ${msPer(clientCpu).toFixed(3)} ms` +
        `${inProcess ? ' (in-process: both are the same process)' : ''}`,
    );
    return [
      { metric: `creates/s (customer + ${second}, ${clients} SDK clients)`, value: Math.round(rate), unit: '/s', target: '≥ 1,000/s', met: rate >= 1000 },
      { metric: 'emulator CPU per create', value: Math.round(msPer(serverCpu) * 1000), unit: 'µs' },
      { metric: 'SDK client CPU per create', value: Math.round(msPer(clientCpu) * 1000), unit: 'µs' },
    ];
  } finally {
    await server.stop();
  }
}

export const part: BenchPart = {
  name: 'emulator',
  description: 'SDK-driven creates/s of the Stripe emulator (customer with a card + subscription), emulator in a child process',
  run: measure,
};

if (serveAt < 0) runIfMain(import.meta.url, part);

/** Whether the billing engine serves subscriptions yet (otherwise the bench creates prices). */
async function subscriptionsServed(stripe: Stripe, price: string): Promise<boolean> {
  try {
    const customer = await stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price }] });
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}
