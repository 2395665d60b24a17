/**
 * The webhook sidecar composes a flusher too (USAGE_FLUSH_* settings): ledger rows reach the emulator
 * and its /metrics shows the backlog draining to zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog.js';
import { loadConfig } from '../../src/config.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createStripeClient } from '../../src/stripe/client.js';
import { startWebhookSidecar, type WebhookSidecar } from '../../src/workers.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { emulatorWithClient } from '../support/emulator.js';
import { identifierCounts, insertUsage } from './support.js';
import { eventually } from '../support/eventually.js';

let db: TestOrm;
let emu: RunningEmulator;
let sidecar: WebhookSidecar | undefined;

beforeAll(async () => {
  db = await createTestOrm();
  ({ emu } = await emulatorWithClient());
});
afterAll(async () => {
  await sidecar?.close();
  await emu?.close();
  await db?.dispose();
});

describe('webhook sidecar', () => {
  it('runs the meter-event flusher from the configuration', async () => {
    const catalog = loadCatalog();
    const settings = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: 'x'.repeat(40), ...env }).usageFlush;
    const t = Math.floor(Date.now() / 1000) - 60;
    const rows = Array.from({ length: 25 }, (_, i) => ({ id: `side-${i}`, customerId: 'cus_sidecar', meter: 'api_calls', quantity: 1, timestamp: t }));
    await insertUsage(db.orm, rows);
    const start = (env: Record<string, string>) =>
      startWebhookSidecar({
        orm: db.orm,
        stripe: createStripeClient({ secretKey: 'sk_test_sidecar', apiBase: emu.url }),
        webhookSecret: 'whsec_sidecar',
        catalog,
        checkStripe: async () => {},
        port: 0,
        syncIntervalMs: 0,
        usageFlush: settings(env),
      });
    const backlog = async () => /^usage_meter_events_backlog (\d+)$/m.exec(await (await fetch(`${sidecar!.url}/metrics`)).text())?.[1];
    // Resends Stripe refused as already held (the series appears on the first one). The emulator keeps
    // each identifier once whatever is sent, so only this count can show a double send.
    const duplicates = async () =>
      Number(/^usage_meter_events_sent_total\{result="duplicate"\} (\d+)$/m.exec(await (await fetch(`${sidecar!.url}/metrics`)).text())?.[1] ?? 0);

    // Rate 0: no flusher here, but /metrics still tells the ledger's backlog.
    sidecar = await start({ USAGE_FLUSH_RATE_PER_SECOND: '0' });
    expect(await backlog()).toBe('25');
    await sidecar.close();
    expect(identifierCounts(emu).size).toBe(0);

    sidecar = await start({ USAGE_FLUSH_RATE_PER_SECOND: '500', USAGE_FLUSH_INTERVAL_MS: '50' });
    const duplicatesBefore = await duplicates();
    await eventually('an empty backlog', backlog, (n) => n === '0', { interval: 100 });
    const counts = identifierCounts(emu);
    expect(rows.every((r) => counts.get(r.id) === 1)).toBe(true);
    expect((await duplicates()) - duplicatesBefore).toBe(0);
    await sidecar.close();
    sidecar = undefined;
  });
});
