#!/usr/bin/env node
// Runs the emulator on its own: `npx stripe-emulator [--port 12111] [--host 127.0.0.1] [--data-dir DIR]
// [--forward-to URL] [--webhook-secret whsec_…]`. Without --data-dir the state lives in memory.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.STRIPE_EMULATOR_PORT || '12111' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
    'forward-to': { type: 'string' },
    'webhook-secret': { type: 'string' },
  },
});
const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65535) {
  console.error(`stripe-emulator: --port expects an integer 0-65535, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

const { startEmulator } = await import('../dist/index.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('stripe-emulator: not built yet; run `npm run build` first');
    process.exit(2);
  }
  throw err;
});
const emulator = await startEmulator({
  port,
  host: values.host,
  ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  ...(values['forward-to'] ? { forwardTo: values['forward-to'] } : {}),
  ...(values['webhook-secret'] ? { webhookSecret: values['webhook-secret'] } : {}),
});
process.stdout.write(`Stripe emulator listening on ${emulator.url}\n`);
if (values['forward-to'] && !values['webhook-secret']) process.stdout.write(`Webhook signing secret: ${emulator.forwardSecret}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => void emulator.close().then(() => process.exit(0)));
}
