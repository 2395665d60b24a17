/**
 * CPU per customer + subscription pair in the emulator's route handlers alone: in-process, no HTTP,
 * no SDK (the same routes and events as `run.ts` drives over HTTP). Less noisy than the end-to-end
 * bench on a shared machine, so changes to the handlers can be compared run against run.
 *
 *   node --experimental-transform-types --no-warnings bench/handlers.ts (in packages/stripe-emulator) [--pairs 5000]
 */
import { parseArgs } from 'node:util';

// Relative `.js` imports of the TypeScript sources resolve to their `.ts` (this file needs the `.ts` name).
await import(new URL('./resolve-ts.ts', import.meta.url).href);

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '5000' }, warmup: { type: 'string', default: '1000' } } });
const { Emulator } = await import('../src/emulator.js');
const { Router } = await import('../src/http/router.js');
const { registerRoutes } = await import('../src/routes.js');
const { callApi } = await import('../src/pages/internal-api.js');

const emu = new Emulator({});
const router = new Router();
registerRoutes(router, emu);
const product = await callApi<{ id: string }>(router, emu, 'POST', '/v1/products', { name: 'Bench' });
const price = await callApi<{ id: string }>(router, emu, 'POST', '/v1/prices', { product: product.id, currency: 'usd', unit_amount: 1000, recurring: { interval: 'month' } });

async function pair(): Promise<void> {
  const customer = await callApi<{ id: string }>(router, emu, 'POST', '/v1/customers', {
    email: 'bench@example.com',
    payment_method: 'pm_card_visa',
    invoice_settings: { default_payment_method: 'pm_card_visa' },
  });
  const sub = await callApi<{ id: string }>(router, emu, 'POST', '/v1/subscriptions', { customer: customer.id, items: [{ price: price.id }] });
  // What the HTTP layer would serialise.
  JSON.stringify(customer);
  JSON.stringify(sub);
}

for (let i = 0; i < Number(values.warmup); i++) await pair();
const n = Number(values.pairs);
const cpu0 = process.cpuUsage();
for (let i = 0; i < n; i++) await pair();
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`emulator handlers: ${n} customer + subscription pairs, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU per pair\n`);
await emu.close();
