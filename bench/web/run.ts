/**
 * The web pages in Debian's Chromium (playwright-core), against the compiled gateway (production
 * settings, temporary PostgreSQL database, Stripe = an emulator this bench starts):
 * - the JavaScript each page loads, gzipped (targets: /billing ≤ 250 KB, /dashboard ≤ 400 KB);
 * - signed customer.created deliveries at --rate for --seconds (default 100 at 10/s): for each, the time
 *   from the webhook's 2xx to its entry being on the dashboard's live feed, p50/p99 (target p99 ≤ 250 ms).
 *
 *   npm run build && npm run build:web && node --experimental-transform-types --no-warnings bench/web/run.ts \
 *     [--rate 10] [--seconds 10] [--database-url postgres://…]
 *
 * "On screen" is the first animation frame after the entry entered the DOM, timed in the page
 * (performance.timeOrigin + now(), the same wall clock as this process's).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';

const { ROOT, adminToken, customerCreatedEvents, deliver, ensureBuilt, ms, pct, printRows, runBench, startEmulators, startGateway, tempDatabase, warmUp } = (await import(
  new URL('../webhooks/harness.ts', import.meta.url).href
)) as typeof import('../webhooks/harness.js');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

interface WebOptions {
  rate: number;
  seconds: number;
}

/** Gzipped bytes of every JavaScript file the page fetched while loading. */
async function pageJs(page: Page, url: string, ready: string): Promise<{ gzip: number; raw: number; files: number }> {
  const bodies: Promise<Buffer>[] = [];
  const onResponse = (r: import('playwright-core').Response) => {
    if (new URL(r.url()).pathname.endsWith('.js')) bodies.push(r.body());
  };
  page.on('response', onResponse);
  await page.goto(url);
  await page.locator(ready).first().waitFor({ timeout: 20_000 });
  await page.waitForLoadState('networkidle');
  page.off('response', onResponse);
  const all = await Promise.all(bodies);
  return { gzip: all.reduce((s, b) => s + gzipSync(b, { level: 9 }).length, 0), raw: all.reduce((s, b) => s + b.length, 0), files: all.length };
}

async function measure(serverUrl: string, o: WebOptions, log: (line: string) => void): Promise<BenchRow[]> {
  ensureBuilt();
  if (!existsSync(join(ROOT, 'dist/web/dashboard.html'))) throw new Error('dist/web is missing: npm run build:web');
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or CHROMIUM_PATH)`);
  const db = await tempDatabase(serverUrl);
  const emus = await startEmulators();
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const total = Math.round(o.rate * o.seconds);
    const payloads = await customerCreatedEvents(emus.source, total, 'web');
    const warmups = await customerCreatedEvents(emus.source, 5, 'webwarm');
    gateway = await startGateway({ databaseUrl: db.url, stripeApiBase: emus.gatewayBase });
    const token = await adminToken('bench-web');

    const billing = await pageJs(await (await browser.newContext()).newPage(), `${gateway.url}/billing#token=${token}`, 'h2');
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const dashboard = await pageJs(page, `${gateway.url}/dashboard#token=${token}`, '.live-dot.on');
    log(`page JS gzipped: /billing ${kb(billing.gzip)} (${billing.files} files, ${kb(billing.raw)} raw), /dashboard ${kb(dashboard.gzip)} (${dashboard.files} files, ${kb(dashboard.raw)} raw)`);

    // The page records when each customer's entry is first on screen.
    // In-page code as a string: this project's TypeScript has no DOM types.
    await page.evaluate(`{
      const seen = (window.__onScreen = {});
      new MutationObserver((records) => {
        const ids = [];
        for (const r of records)
          for (const n of r.addedNodes) {
            const m = /cus_\\w+/.exec(n.textContent ?? '');
            if (m && !(m[0] in seen)) ids.push(m[0]);
          }
        if (ids.length) requestAnimationFrame(() => ids.forEach((id) => (seen[id] ??= performance.timeOrigin + performance.now())));
      }).observe(document.querySelector('[data-testid="event-feed"]'), { childList: true });
    }`);
    const onScreen = async () => new Map(Object.entries((await page.evaluate('window.__onScreen')) as Record<string, number>));
    let snapshot = new Map<string, number>();
    await warmUp(gateway.url, emus.source, warmups, (c) => {
      void onScreen().then((m) => (snapshot = m));
      return snapshot.has(c);
    });

    const acked = new Map<string, number>();
    let failures = 0;
    const started = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < payloads.length; i++) {
      const wait = started + (i * 1000) / o.rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const { customer, body } = payloads[i]!;
      inflight.push(
        deliver(gateway.url, emus.source, body).then(({ status, t1 }) => {
          if (status !== 200) failures++;
          acked.set(customer, performance.timeOrigin + t1);
        }),
      );
    }
    await Promise.all(inflight);
    const until = Date.now() + 30_000;
    let seen = await onScreen();
    while (Date.now() < until && payloads.some((p) => !seen.has(p.customer))) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await onScreen();
    }
    const latency: number[] = [];
    let missing = 0;
    for (const p of payloads) {
      const t = seen.get(p.customer);
      if (t === undefined) missing++;
      else latency.push(Math.max(0, t - acked.get(p.customer)!));
    }
    latency.sort((x, y) => x - y);
    const p99 = pct(latency, 99);
    log(`web: ${payloads.length} events at ${o.rate}/s (${failures} non-2xx), ${missing} never on screen`);
    log(`  2xx → on the dashboard feed: p50 ${ms(pct(latency, 50))}  p99 ${ms(p99)}  max ${ms(latency[latency.length - 1] ?? NaN)}  (target p99 ≤ 250 ms: ${p99 <= 250 ? 'met' : 'MISSED'})`);
    return [
      { metric: '/billing JavaScript loaded, gzipped', value: Math.round(billing.gzip / 102.4) / 10, unit: 'KB', target: '≤ 250 KB', met: billing.gzip <= 250 * 1024 },
      { metric: '/dashboard JavaScript loaded, gzipped', value: Math.round(dashboard.gzip / 102.4) / 10, unit: 'KB', target: '≤ 400 KB', met: dashboard.gzip <= 400 * 1024 },
      { metric: `webhook 2xx → event on screen p50 (${payloads.length} events at ${o.rate}/s)`, value: pct(latency, 50), unit: 'ms' },
      { metric: `webhook 2xx → event on screen p99 (${payloads.length} events at ${o.rate}/s)`, value: p99, unit: 'ms', target: 'p99 ≤ 250 ms', met: p99 <= 250 && missing === 0 && failures === 0 },
    ];
  } finally {
    await browser.close();
    await gateway?.stop();
    await emus.close();
    await db.drop();
  }
}

function optionsFrom(o: Record<string, string | undefined>): WebOptions {
  const num = (k: string, d: number) => (o[k] === undefined ? d : Number(o[k]));
  return { rate: num('rate', 10), seconds: num('seconds', 10) };
}

export const part: BenchPart = {
  name: 'web',
  description: 'the pages in Chromium: gzipped JS per page, and webhook 2xx → event on the dashboard feed, p50/p99',
  run: (ctx: BenchContext) => measure(ctx.databaseUrl, optionsFrom(ctx.options), ctx.log),
};

if (import.meta.main) {
  const { values } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' }, 'database-url': { type: 'string' } } });
  const serverUrl = values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  runBench(async () => printRows(await measure(serverUrl, optionsFrom(values), (line) => process.stdout.write(`${line}\n`))));
}
