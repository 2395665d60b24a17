/**
 * The webhook route alone: signed events of a type the gateway records as ignored (stored in the
 * inbox, committed, never processed), so the gateway's CPU per acknowledged event is the cost of
 * acknowledging (HTTP, signature, parse, inbox insert) without the worker's share. Closed loop.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/webhooks/ingest-only.ts \
 *     --database-url postgres://… [--seconds 8] [--concurrency 32] [--cpu-prof DIR]
 */
import { parseArgs } from 'node:util';
import type Stripe from 'stripe';
const { cpuMeter, ensureBuilt, loadAverage, runBench, SECRET, startEmulators, startGateway, tempDatabase } = (await import(
  new URL('./harness.ts', import.meta.url).href
)) as typeof import('./harness.js');

const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, seconds: { type: 'string' }, concurrency: { type: 'string' }, 'cpu-prof': { type: 'string' } } });
const serverUrl = values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!serverUrl) {
  process.stderr.write('--database-url (or BENCH_DATABASE_URL / TEST_DATABASE_URL) is required\n');
  process.exit(2);
}
const SECONDS = Number(values.seconds ?? 8);
const CONCURRENCY = Number(values.concurrency ?? 32);

runBench(async () => {
  ensureBuilt();
  const db = await tempDatabase(serverUrl);
  const emus = await startEmulators();
  const gateway = await startGateway({ databaseUrl: db.url, stripeApiBase: emus.gatewayBase, cpuProfDir: values['cpu-prof'] });
  try {
    const signer: Stripe = emus.source;
    // A realistic 2–3 KB body: a charge.dispute.created event with a padded object (the gateway ignores that type).
    const template = (i: number) =>
      JSON.stringify({
        id: `evt_ingest_${i}`,
        object: 'event',
        api_version: '2026-10-28.endive',
        created: Math.floor(Date.now() / 1000),
        type: 'charge.dispute.created',
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: { object: { id: `dp_${i}`, object: 'dispute', amount: 1000, currency: 'usd', metadata: {}, evidence: { note: 'x'.repeat(2000) } } },
      });
    const bodies = Array.from({ length: Math.max(20_000, SECONDS * 12_000) }, (_, i) => {
      const body = template(i);
      return { body, signature: signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) };
    });
    // Warm-up: the JIT and the pool.
    for (let i = 0; i < 200; i++) await post(gateway.url, { body: template(-i - 1), signature: signer.webhooks.generateTestHeaderString({ payload: template(-i - 1), secret: SECRET }) });
    const load = await loadAverage();
    let next = 0;
    let ok = 0;
    const lat: number[] = [];
    const cpu = await cpuMeter(gateway.child.pid!);
    const t0 = performance.now();
    const stopAt = t0 + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < stopAt && next < bodies.length) {
          const s = performance.now();
          if ((await post(gateway.url, bodies[next++]!)) === 200) ok++;
          lat.push(performance.now() - s);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const cpuLine = await cpu.stop();
    const gatewayCpu = Number(/gateway ([\d.]+) s/.exec(cpuLine)?.[1]);
    lat.sort((a, b) => a - b);
    const p = (q: number) => lat[Math.min(lat.length - 1, Math.floor((q / 100) * lat.length))]!.toFixed(1);
    process.stdout.write(
      [
        `load average at start: ${load}`,
        `ingest only (ignored-type events, ${CONCURRENCY} senders, ${SECONDS} s): ${ok} acknowledged, ${(ok / secs).toFixed(0)} events/s; ack p50 ${p(50)} ms p99 ${p(99)} ms`,
        `  ${cpuLine}`,
        `  gateway CPU per acknowledged event: ${((gatewayCpu / ok) * 1e6).toFixed(0)} µs`,
        ...(next >= bodies.length ? [`  (all ${bodies.length} prepared bodies sent: the rate is a lower bound)`] : []),
      ].join('\n') + '\n',
    );
  } finally {
    await gateway.stop();
    await emus.close();
    await db.drop();
  }
});

async function post(url: string, b: { body: string; signature: string }): Promise<number> {
  const res = await fetch(`${url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': b.signature }, body: b.body });
  await res.arrayBuffer();
  return res.status;
}
