import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/paths.js';

/** Debian's Chromium (`apt-get install chromium`); Playwright never downloads a browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(PROJECT_ROOT, 'docs/screenshots');

/** The pages are built at install (`prepare`); a checkout that skipped scripts builds them here. */
export function ensurePagesBuilt(): void {
  if (!existsSync(join(PROJECT_ROOT, 'dist/web/dashboard.html'))) execFileSync('npm', ['run', 'build:web'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}

export interface PageProblems {
  consoleErrors: string[];
  /** Requests that left localhost (the pages must work with no network). */
  offHost: string[];
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own sessionStorage) with a page watched for console errors and off-host requests. */
  open(): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }>;
  /** Closes the pages opened so far (their WebSockets too). */
  closePages(): Promise<void>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Without the background-networking flags Chromium's own connections hit the closed network.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // Playwright gives the browser a fresh temporary profile of its own.
  });
  const contexts: BrowserContext[] = [];
  const closePages = async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  };
  return {
    browser,
    async open() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      const problems: PageProblems = { consoleErrors: [], offHost: [] };
      context.on('request', (req) => {
        const url = new URL(req.url());
        if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) return;
        if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') problems.offHost.push(req.url());
      });
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.consoleErrors.push(msg.text());
      });
      page.on('pageerror', (err) => problems.consoleErrors.push(`pageerror: ${err.message}`));
      return { context, page, problems };
    },
    closePages,
    async close() {
      await closePages();
      await browser.close();
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core run inside the page (less the `exclude` selectors); returns the serious and critical violations, one line each. */
export async function seriousA11yViolations(page: Page, exclude: string[] = []): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  // In-page code as a string: this project's TypeScript has no DOM types.
  const violations = (await page.evaluate(`axe.run({ exclude: ${JSON.stringify(exclude.map((e) => [e]))} }, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target) + ' ' + n.html.slice(0, 160)) })))`)) as {
    id: string;
    impact: string | null;
    help: string;
    targets: string[];
  }[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
