import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/tokens.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { ensurePagesBuilt, launchBrowser, screenshot, seriousA11yViolations, type PageProblems, type TestBrowser } from './browser.js';

/**
 * The pages in Debian's Chromium against the compiled gateway in sandbox mode: what they show is
 * compared with what the GraphQL API answers for the same question.
 */
let gw: GatewayProcess;
let tb: TestBrowser;
let secret: string;
let adminToken: string;

type Gql = { data?: Record<string, any>; errors?: { message: string; extensions?: { code?: string } }[] };
async function gql(token: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Gql;
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; ')}`);
  return body.data!;
}

const customerToken = (sub: string) => signDevToken({ sub, email: `${sub}@example.com` }, secret);
const apiMrrTotal = async () => ((await gql(adminToken, '{ mrr { totals { formatted } } }')).mrr.totals[0]?.formatted as string | undefined) ?? '$0.00';
const subscribe = async (token: string, plan: string) =>
  (await gql(token, 'mutation($i: SubscribeInput!) { subscribe(input: $i) { subscription { id status customer { id } } } }', { i: { plan, paymentMethod: 'pm_card_visa' } })).subscribe
    .subscription as { id: string; status: string; customer: { id: string } };

/** `POST /v1/keys/verify` as a backend asks it, with the admin token. */
const verifyKey = async (key: string) => {
  const res = await fetch(`${gw.url}/v1/keys/verify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ key }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { code: string }).code;
};

/** The current month's revenue point as the API answers it, for the currency the chart shows first (the API's order). */
async function apiCurrentRevenue(): Promise<Record<string, { formatted: string }> | undefined> {
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)).toISOString();
  const points = (
    await gql(
      adminToken,
      'query($f: DateTime!, $t: DateTime!) { revenue(from: $f, to: $t, interval: MONTH) { currency mrr { formatted } newMrr { formatted } churnedMrr { formatted } netNewMrr { formatted } } }',
      { f: from, t: now.toISOString() },
    )
  ).revenue as ({ currency: string } & Record<string, { formatted: string }>)[];
  const first = points[0]?.currency;
  return points.filter((p) => p.currency === first).at(-1);
}

/**
 * Live subscription executions as the gateway counts them (one per document and viewer): a page's
 * subscription is open once this rises. Each test closes its pages, so nothing is shared across tests.
 */
async function liveOperations(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^graphql_ws_shared_operations(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

/** The page itself is checked too: nothing logged as an error, nothing fetched off this machine, no serious axe-core violation. */
async function expectCleanPage(page: Page, problems: PageProblems) {
  expect(await seriousA11yViolations(page)).toEqual([]);
  expect(problems.consoleErrors).toEqual([]);
  expect(problems.offHost).toEqual([]);
}

beforeAll(async () => {
  ensurePagesBuilt();
  gw = await startGatewayProcess();
  secret = readFileSync(join(gw.dataDir, 'dev-jwt-secret'), 'utf8').trim();
  adminToken = await signDevToken({ sub: 'admin', role: 'admin' }, secret);
  tb = await launchBrowser();
}, 120_000);

afterEach(async () => {
  await tb?.closePages();
});

afterAll(async () => {
  await tb?.close();
  await gw?.stop();
});

describe('/dashboard', () => {
  it('signs in with the form, keeps the token in sessionStorage only, and shows MRR as the API answers', async () => {
    const { page, problems } = await tb.open();
    // Sandbox development: the page signs itself in with the dev admin token.
    await page.goto(`${gw.url}/dashboard`);
    await expect.poll(() => page.getByTestId('mrr-total').textContent(), { timeout: 10_000 }).toBe(await apiMrrTotal());

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('token-input').waitFor();
    await screenshot(page, 'sign-in');
    expect(await seriousA11yViolations(page)).toEqual([]);
    // A token the gateway refuses brings the form back with the reason.
    await page.getByTestId('token-input').fill('not-a-token');
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: 10_000 }).toMatch(/Signed out/);

    await page.getByTestId('token-input').fill(adminToken);
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByTestId('mrr-total').textContent(), { timeout: 10_000 }).toBe(await apiMrrTotal());
    const storage = (await page.evaluate('({ session: JSON.stringify(sessionStorage), local: localStorage.length, cookie: document.cookie })')) as { session: string };
    expect(storage.session).toContain(adminToken);
    expect(storage).toMatchObject({ local: 0, cookie: '' });
    await expectCleanPage(page, problems);
  });

  it('shows the usage flush backlog, lag and parked rows as the API answers', async () => {
    const { page, problems } = await tb.open();
    // Some usage recorded, so the figures are not just the empty ledger's.
    const token = await customerToken('flush-viewer');
    await subscribe(token, 'pro_monthly');
    for (let i = 0; i < 3; i++) await gql(token, 'mutation($i: ReportUsageInput!) { reportUsage(input: $i) { id } }', { i: { meter: 'api_calls', quantity: 1, idempotencyKey: `flush-viewer-${i}` } });
    await page.goto(`${gw.url}/dashboard`);
    const shown = async () => ({
      backlog: await page.getByTestId('usage-backlog').textContent(),
      lag: await page.getByTestId('usage-lag').textContent(),
      parked: await page.getByTestId('usage-parked').textContent(),
    });
    // The API is asked again at each comparison: while rows are being sent the figures move, once drained they hold.
    const api = async () => {
      const { usageFlush: u } = await gql(adminToken, '{ usageFlush { backlog parked lagSeconds } }');
      return { backlog: u.backlog.toLocaleString('en-US'), lag: `${Math.round(u.lagSeconds).toLocaleString('en-US')} s`, parked: u.parked.toLocaleString('en-US') };
    };
    await expect.poll(async () => (await page.getByTestId('usage-lag').count()) > 0, { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => JSON.stringify(await shown()) === JSON.stringify(await api()), { timeout: 20_000 }).toBe(true);
    expect(await shown()).toEqual(await api());
    await expectCleanPage(page, problems);
  });

  it('shows a subscribe done through the API in the feed and in MRR within 5 s, without reload', async () => {
    const { page, problems } = await tb.open();
    const subscribers = await liveOperations();
    await page.goto(`${gw.url}/dashboard`);
    // The feed and mrrUpdated are both open.
    await expect.poll(liveOperations, { timeout: 10_000 }).toBeGreaterThanOrEqual(subscribers + 2);
    const before = await apiMrrTotal();
    await expect.poll(() => page.getByTestId('mrr-total').textContent(), { timeout: 10_000 }).toBe(before);
    let navigations = 0;
    page.on('framenavigated', () => navigations++);

    const sub = await subscribe(await customerToken('feed-user'), 'pro_monthly');
    const started = Date.now();
    await page
      .getByTestId('event')
      .filter({ hasText: 'SUBSCRIPTION_STARTED' })
      .filter({ hasText: sub.customer.id })
      .first()
      .waitFor({ timeout: 5_000 });
    const after = await apiMrrTotal();
    expect(after).not.toBe(before);
    await expect.poll(() => page.getByTestId('mrr-total').textContent(), { timeout: Math.max(1, 5_000 - (Date.now() - started)) }).toBe(after);
    expect(navigations).toBe(0);

    // The revenue chart's current point is the API's, once the new subscription counts.
    const point = await apiCurrentRevenue();
    expect(point).toBeDefined();
    await expect.poll(() => page.getByTestId('revenue-mrr').textContent(), { timeout: 10_000 }).toBe(point!.mrr.formatted);
    expect(await page.getByTestId('revenue-new').textContent()).toBe(point!.newMrr.formatted);
    expect(await page.getByTestId('revenue-churn').textContent()).toBe(point!.churnedMrr.formatted);
    expect(await page.getByTestId('revenue-net-new').textContent()).toBe(point!.netNewMrr.formatted);

    // The feed's filters: by type, then by customer.
    await page.getByTestId('feed-type').selectOption('SUBSCRIPTION_STARTED');
    const types = await page.getByTestId('event').locator('.type').allTextContents();
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['SUBSCRIPTION_STARTED']));
    await page.getByTestId('feed-type').selectOption('');
    await page.getByTestId('feed-customer').fill('cus_nobody');
    await expect.poll(() => page.getByTestId('event').count()).toBe(0);
    await page.getByTestId('feed-customer').fill('');
    await screenshot(page, 'dashboard');
    await expectCleanPage(page, problems);
  });

  it('lists customers as the API does and opens a customer page', async () => {
    await subscribe(await customerToken('listed-user'), 'basic_monthly');
    const { page, problems } = await tb.open();
    await page.goto(`${gw.url}/dashboard#/customers`);
    const api = (await gql(adminToken, '{ customers(first: 20) { totalCount edges { node { id } } } }')).customers;
    await expect.poll(() => page.getByTestId('customer-row').count(), { timeout: 10_000 }).toBe(api.edges.length);
    expect(await page.getByTestId('customer-row').first().textContent()).toContain(api.edges[0].node.id);
    await screenshot(page, 'customers');
    await expectCleanPage(page, problems);

    // Search is the API's exact-email filter.
    await page.getByTestId('customer-search').fill('listed-user@example.com');
    await page.getByTestId('customer-search').press('Enter');
    await expect.poll(() => page.getByTestId('customer-row').allTextContents(), { timeout: 10_000 }).toEqual([expect.stringContaining('listed-user@example.com')]);

    await page.getByTestId('customer-row').first().getByRole('link').click();
    await page.getByRole('heading', { name: 'Subscriptions' }).waitFor({ timeout: 10_000 });
    await page.getByRole('heading', { name: 'Invoices' }).waitFor();
    const listed = (await gql(adminToken, '{ customers(email: "listed-user@example.com") { edges { node { mrr { formatted } invoices { totalCount } } } } }')).customers.edges[0].node;
    expect(await page.getByTestId('customer-mrr').textContent()).toBe(listed.mrr.formatted);
    expect(await page.getByRole('link', { name: /^PDF/ }).count()).toBe(listed.invoices.totalCount);
    await screenshot(page, 'customer');
    await expectCleanPage(page, problems);

    await page.goto(`${gw.url}/dashboard#/webhooks`);
    await page.getByText(/No parked events|Retry/).first().waitFor({ timeout: 10_000 });
    await expectCleanPage(page, problems);
  });
});

describe('/billing', () => {
  it('previews a plan change with upcomingInvoice and bills exactly the preview', async () => {
    const token = await customerToken('billing-user');
    const sub = await subscribe(token, 'basic_monthly');
    const { page, problems } = await tb.open();
    await page.goto(`${gw.url}/billing#token=${token}`);
    await expect.poll(() => page.getByTestId('plan-name').textContent(), { timeout: 10_000 }).toBe('Basic');
    // The token left the address bar for sessionStorage.
    expect(page.url()).not.toContain('token=');
    await screenshot(page, 'billing');
    await expectCleanPage(page, problems);

    await page.getByTestId('choose-pro_monthly').click();
    const previewTotal = (await page.getByTestId('preview-total').textContent({ timeout: 10_000 }))!.trim();
    expect(previewTotal).toMatch(/^\$\d/);
    await screenshot(page, 'billing-preview');
    await page.getByTestId('confirm-change').click();
    await page.getByTestId('change-done').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('plan-name').textContent(), { timeout: 10_000 }).toBe('Pro');

    const invoices = (
      await gql(adminToken, 'query($c: ID!) { invoices(customerId: $c) { edges { node { billingReason total { formatted } } } } }', { c: sub.customer.id })
    ).invoices.edges.map((e: { node: { billingReason: string; total: { formatted: string } } }) => e.node);
    const billed = invoices.find((i: { billingReason: string }) => i.billingReason === 'subscription_update');
    expect(billed?.total.formatted).toBe(previewTotal);
    // The page lists that invoice too.
    await expect.poll(() => page.getByTestId('invoice-total').allTextContents(), { timeout: 10_000 }).toContain(previewTotal);

    // Cancel at period end, then resume.
    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('cancel').click();
    await page.getByTestId('cancel-notice').waitFor({ timeout: 10_000 });
    await page.getByTestId('resume').click();
    await page.getByTestId('cancel').waitFor({ timeout: 10_000 });
    const s = (await gql(token, 'query($c: ID) { subscriptions(customerId: $c) { id cancelAtPeriodEnd } }', { c: sub.customer.id })).subscriptions;
    expect(s.find((x: { id: string }) => x.id === sub.id)).toMatchObject({ cancelAtPeriodEnd: false });
    await expectCleanPage(page, problems);
  });

  it('shows usage against what is included, and the next invoice so far once over it', async () => {
    const token = await customerToken('usage-user');
    const sub = await subscribe(token, 'basic_monthly');
    await gql(token, 'mutation($i: ReportUsageInput!) { reportUsage(input: $i) { id } }', { i: { meter: 'api_calls', quantity: 1500, idempotencyKey: 'usage-user-1' } });
    const upcoming = (await gql(token, 'query($s: ID!) { upcomingInvoice(subscriptionId: $s) { amountDue { formatted } } }', { s: sub.id })).upcomingInvoice;
    const { page, problems } = await tb.open();
    await page.goto(`${gw.url}/billing#token=${token}`);
    await page.getByText('1,500 of 1,000 included').waitFor({ timeout: 10_000 });
    await page.getByText('500 over').waitFor();
    await expect.poll(() => page.getByTestId('overage-so-far').textContent(), { timeout: 10_000 }).toContain(upcoming.amountDue.formatted);
    await expectCleanPage(page, problems);
  });

  it('creates an API key with the secret shown once, then rolls and revokes it', async () => {
    const token = await customerToken('keys-user');
    const sub = await subscribe(token, 'basic_monthly');
    const { page, problems } = await tb.open();
    await page.goto(`${gw.url}/billing#token=${token}`);
    await page.getByTestId('api-key-name').waitFor({ timeout: 10_000 });
    await page.getByText('No API keys yet.').waitFor({ timeout: 10_000 });

    // By keyboard: type a name and press Enter.
    await page.getByTestId('api-key-name').fill('Production server');
    await page.getByTestId('api-key-name').press('Enter');
    const secret = (await page.getByTestId('api-key-secret').textContent({ timeout: 10_000 }))!.trim();
    expect(await page.getByTestId('api-key-secret-box').textContent()).toContain('Shown once');
    await expect.poll(() => page.getByTestId('api-key-row').count(), { timeout: 10_000 }).toBe(1);
    const row = page.getByTestId('api-key-row').first();
    const listed = (await gql(token, '{ customer { apiKeys { name prefix } } }')).customer.apiKeys;
    expect(listed).toEqual([{ name: 'Production server', prefix: expect.any(String) }]);
    expect(secret.startsWith(listed[0].prefix)).toBe(true);
    expect(await row.textContent()).toContain(listed[0].prefix);
    await screenshot(page, 'billing-api-keys');
    await expectCleanPage(page, problems);
    expect(await verifyKey(secret)).toBe('VALID');

    // Once dismissed, the secret is nowhere on the page.
    await page.getByTestId('secret-done').click();
    await page.getByTestId('api-key-secret-box').waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(secret);

    // Roll: a new secret, once; the old one stops at once.
    await row.getByTestId('roll-api-key').click();
    await expect.poll(async () => (await page.getByTestId('api-key-secret').textContent())?.trim(), { timeout: 10_000 }).not.toBe(secret);
    const rolled = (await page.getByTestId('api-key-secret').textContent())!.trim();
    expect(rolled).not.toBe('');
    expect(await page.getByTestId('api-key-secret-box').textContent()).toContain('old secret has stopped working');
    expect(await verifyKey(secret)).toBe('NOT_FOUND');
    expect(await verifyKey(rolled)).toBe('VALID');

    // Revoke asks first; a dismissed question changes nothing.
    page.once('dialog', (d) => void d.dismiss());
    await row.getByTestId('revoke-api-key').click();
    expect(await verifyKey(rolled)).toBe('VALID');
    page.once('dialog', (d) => void d.accept());
    await row.getByTestId('revoke-api-key').click();
    await expect.poll(() => row.getByTestId('api-key-state').textContent(), { timeout: 10_000 }).toMatch(/^revoked/);
    expect(await verifyKey(rolled)).toBe('REVOKED');
    await expectCleanPage(page, problems);

    // The operator sees the key, read-only, with its verifications as the API counts them (written about a second behind).
    const apiVerifications = async () =>
      (await gql(adminToken, 'query($c: ID!) { customer(id: $c) { apiKeys { verifications { code count } } } }', { c: sub.customer.id })).customer.apiKeys[0].verifications as {
        code: string;
        count: number;
      }[];
    await expect.poll(async () => (await apiVerifications()).map((v) => v.code).sort(), { timeout: 10_000 }).toEqual(['REVOKED', 'VALID']);
    const admin = await tb.open();
    await admin.page.goto(`${gw.url}/dashboard#/customers/${sub.customer.id}`);
    await admin.page.getByTestId('customer-api-key').first().waitFor({ timeout: 10_000 });
    expect(await admin.page.getByTestId('customer-api-key').count()).toBe(1);
    const counts = (await admin.page.getByTestId('customer-api-key-verifications').textContent())!;
    for (const v of await apiVerifications()) expect(counts).toContain(`${v.code.replace(/_/g, ' ').toLowerCase()} ${v.count}`);
    expect(await admin.page.getByRole('button', { name: /Roll|Revoke/ }).count()).toBe(0);
    await screenshot(admin.page, 'customer-api-keys');
    await expectCleanPage(admin.page, admin.problems);
  });

  it('"Manage billing" opens a portal session on the emulator', async () => {
    const token = await customerToken('portal-user');
    await subscribe(token, 'basic_monthly');
    const { page, problems } = await tb.open();
    await page.goto(`${gw.url}/billing#token=${token}`);
    await page.getByTestId('manage-billing').waitFor({ timeout: 10_000 });
    // By keyboard: Tab reaches the button, with a visible focus ring, and Enter opens the portal.
    let focused: { testid: string | null; outline: string } | null = null;
    for (let i = 0; i < 10 && focused?.testid !== 'manage-billing'; i++) {
      await page.keyboard.press('Tab');
      focused = (await page.evaluate(
        `({ testid: document.activeElement?.getAttribute('data-testid') ?? null, outline: getComputedStyle(document.activeElement).outlineStyle })`,
      )) as { testid: string | null; outline: string };
    }
    expect(focused).toEqual({ testid: 'manage-billing', outline: 'solid' });
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.href.startsWith(gw.emulatorUrl), { timeout: 10_000 });
    expect(problems.offHost).toEqual([]);
  });
});

describe('/graphiql', () => {
  it('runs a query and a subscription from the gateway\u2019s own files, every request on this machine', async () => {
    const { page, problems } = await tb.open();
    await page.goto(`${gw.url}/graphiql?query=${encodeURIComponent('query Plans { plans { id } }')}`);
    const run = page.locator('.graphiql-execute-button');
    // Monaco loads after the button shows: run once the editor holds the document.
    const editorHas = (text: string) => page.locator('.graphiql-query-editor .view-lines').filter({ hasText: text }).waitFor({ timeout: 20_000 });
    await editorHas('plans');
    await run.click();
    await expect.poll(() => page.locator('.graphiql-response').textContent(), { timeout: 10_000 }).toContain('basic_monthly');
    await screenshot(page, 'graphiql');
    // GraphiQL's own tab strip puts its close button inside the role="tab" element (nested-interactive),
    // upstream markup this page cannot change; everything else is checked.
    expect(await seriousA11yViolations(page, ['.graphiql-tabs'])).toEqual([]);

    await page.goto(`${gw.url}/graphiql?query=${encodeURIComponent('subscription Live { billingEvents { type customerId } }')}`);
    await editorHas('billingEvents');
    const subscribers = await liveOperations();
    await run.click();
    await expect.poll(liveOperations, { timeout: 10_000 }).toBeGreaterThan(subscribers);
    const sub = await subscribe(await customerToken('graphiql-user'), 'basic_monthly');
    await expect.poll(() => page.locator('.graphiql-response').textContent(), { timeout: 10_000 }).toContain(sub.customer.id);
    expect(problems.offHost).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
  });

  it('Apollo\u2019s landing page points to it', async () => {
    const res = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html' } });
    const html = await res.text();
    expect(html).toContain('href="/graphiql"');
    expect(html).not.toMatch(/apollographql\.com|cdn\./);
  });
});
