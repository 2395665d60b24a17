/**
 * SDK-driven create throughput of the emulator: a few concurrent `stripe` clients each create a
 * customer and then a subscription (or, until the billing engine serves subscriptions, a price).
 *
 *   node --experimental-transform-types --no-warnings bench/emulator/run.ts [--seconds 5] [--clients 8] [--in-process]
 *
 * By default the emulator runs in a child process, so the clients do not share its event loop.
 * Besides the rate it prints the CPU time per request of each side (user + system), which a busy
 * machine changes much less than the rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';

// Relative `.js` imports of the TypeScript sources resolve to their `.ts` (this file needs the `.ts` name).
await import(new URL('./resolve-ts.ts', import.meta.url).href);

// Running TypeScript directly turns on source-mapped stack traces, and the SDK takes a stack trace
// per request (`new Error().stack`, for call sites in its errors): with source maps that alone was
// ~10% of the client's CPU. A compiled client does not pay it, so the bench does not either.
process.setSourceMapsEnabled(false);

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '8' },
    'in-process': { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
  },
});

async function startServer(): Promise<Server> {
  const { startEmulator } = await import('../../src/emulator/index.js');
  const emu = await startEmulator({ port: 0 });
  return { port: emu.port, stop: () => emu.close(), cpu: async () => process.cpuUsage() };
}

if (values.serve) {
  const { port, stop } = await startServer();
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  // The parent asks for this process's CPU time around the measured window.
  process.on('message', () => process.send!(process.cpuUsage()));
  process.stdout.write(`${port}\n`);
} else {
  await main();
}

interface Server {
  port: number;
  stop: () => Promise<void>;
  cpu: () => Promise<NodeJS.CpuUsage>;
}

async function spawnServer(): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve'], {
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

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const clients = Number(values.clients);
  const server = values['in-process'] ? await startServer() : await spawnServer();
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
    const msPer = (u: { user: number; system: number }): string => ((u.user + u.system) / 1000 / creates).toFixed(3);
    const serverCpu = { user: serverCpu1.user - serverCpu0.user, system: serverCpu1.system - serverCpu0.system };
    process.stdout.write(
      `emulator bench: ${clients} clients, ${elapsed.toFixed(1)} s, customer + ${second}\n` +
        `  ${(creates / elapsed).toFixed(0)} creates/s (${(pairs / elapsed).toFixed(0)} customer+${second} pairs/s)\n` +
        `  CPU per create (request): emulator ${msPer(serverCpu)} ms, SDK client ${msPer(clientCpu)} ms` +
        `${values['in-process'] ? ' (in-process: both are the same process)' : ''}\n` +
        `  target ≥ 1000 creates/s: ${creates / elapsed >= 1000 ? 'met' : 'NOT met'}\n`,
    );
  } finally {
    await server.stop();
  }
}

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
