import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../src/auth/tokens.js';
import { loadConfig, persistDevSecret } from '../../src/config.js';
import { mountWebPages } from '../../src/http/web-pages.js';
import { ensurePagesBuilt } from './browser.js';

/** The page routes over real HTTP, in development and in production, without a database. */
const dir = mkdtempSync(join(tmpdir(), 'gw-web-routes-'));
const servers: Server[] = [];

async function serve(env: Record<string, string>): Promise<string> {
  const app = express();
  // As the gateway's start does: a generated development secret is kept in DATA_DIR, so tokens verify below.
  mountWebPages(app, persistDevSecret(loadConfig({ DATA_DIR: dir, ...env })));
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

let dev: string;
let prod: string;
let themed: string;

beforeAll(async () => {
  ensurePagesBuilt();
  writeFileSync(join(dir, 'theme.css'), ':root { --accent: #0b6e4f; }');
  dev = await serve({ NODE_ENV: 'development' });
  prod = await serve({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'a-production-secret-of-at-least-32-chars!' });
  themed = await serve({ NODE_ENV: 'development', WEB_THEME_CSS: join(dir, 'theme.css') });
});

afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the page routes', () => {
  it('sign the pages in by themselves only in sandbox development, with tokens the gateway accepts', async () => {
    const d = (await (await fetch(`${dev}/web/session.json`)).json()) as { adminToken: string; customerToken: string };
    const verifier = createTokenVerifier(loadConfig({ DATA_DIR: dir }).auth);
    expect(await verifier.verifyAuthorization(`Bearer ${d.adminToken}`)).toMatchObject({ role: 'admin' });
    expect(await verifier.verifyAuthorization(`Bearer ${d.customerToken}`)).toMatchObject({ role: 'customer', sub: 'demo-customer' });

    const p = await fetch(`${prod}/web/session.json`);
    expect(p.headers.get('cache-control')).toBe('no-store');
    expect(await p.json()).toMatchObject({ adminToken: null, customerToken: null, graphiql: false });
    // Live Stripe: no dev sign-in either, even outside production.
    const live = await serve({ NODE_ENV: 'development', STRIPE_SECRET_KEY: 'sk_test_x' });
    expect(await (await fetch(`${live}/web/session.json`)).json()).toMatchObject({ adminToken: null, customerToken: null });
  });

  it('serve /graphiql in development only', async () => {
    expect((await fetch(`${dev}/graphiql`)).status).not.toBe(404);
    expect((await fetch(`${prod}/graphiql`)).status).toBe(404);
    expect((await fetch(`${prod}/dashboard`)).status).not.toBe(404);
  });

  it('link WEB_THEME_CSS after the pages\u2019 own styles', async () => {
    const html = await (await fetch(`${themed}/billing`)).text();
    expect(html).toMatch(/<link rel="stylesheet" href="\/web\/theme.css"><\/head>/);
    expect(await (await fetch(`${themed}/web/theme.css`)).text()).toContain('--accent: #0b6e4f');
    expect(await (await fetch(`${dev}/billing`)).text()).not.toContain('theme.css');
  });
});
