/**
 * The browser pages (`/dashboard`, `/billing`, `/graphiql`), built by Vite from `web/` into
 * `dist/web` at install time and served from the gateway's own port: no CDN, so they work offline.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApolloServerPlugin } from '@apollo/server';
import express, { type Express, type Response } from 'express';
import { mintToken } from '../auth/tokens.js';
import type { Config } from '../config.js';
import { PROJECT_ROOT } from '../paths.js';

/** Where `npm run build:web` writes the pages (Vite `outDir`); assets are served under WEB_ASSET_BASE. */
export const WEB_DIST = join(PROJECT_ROOT, 'dist/web');
export const WEB_ASSET_BASE = '/web';

/** The pages sign themselves in only in sandbox development, where tokens come from the local dev secret. */
export function devSignInAllowed(config: Config): boolean {
  return config.sandbox && !config.isProduction && config.auth.devSecret;
}

export function mountWebPages(app: Express, config: Config): void {
  const themeLink = config.webThemeCss ? `<link rel="stylesheet" href="${WEB_ASSET_BASE}/theme.css">` : '';
  const page = (file: string) => (_req: unknown, res: Response) => {
    const path = join(WEB_DIST, file);
    if (!existsSync(path)) {
      res.status(503).type('text/plain').send('The web pages are not built: run `npm run build:web`.');
      return;
    }
    // The HTML names hashed assets, so it must be revalidated; the assets themselves are immutable.
    // The theme comes last, so its custom properties override the pages' own.
    const html = readFileSync(path, 'utf8').replace('</head>', `${themeLink}</head>`);
    res.set('Cache-Control', 'no-cache').type('html').send(html);
  };
  if (config.webThemeCss) {
    const css = config.webThemeCss;
    app.get(WEB_ASSET_BASE + '/theme.css', (_req, res) => res.set('Cache-Control', 'no-cache').sendFile(css));
  }
  app.use(WEB_ASSET_BASE + '/assets', express.static(join(WEB_DIST, 'assets'), { immutable: true, maxAge: '1y', index: false, fallthrough: false }));
  // What a page may know before sign-in. Never cached: it may carry a dev token.
  app.get(WEB_ASSET_BASE + '/session.json', async (_req, res) => {
    const dev = devSignInAllowed(config);
    res.set('Cache-Control', 'no-store').json({
      graphqlPath: '/graphql',
      graphiql: !config.isProduction,
      adminToken: dev ? await mintToken(config.auth, { sub: 'admin', role: 'admin', expiresIn: '12h' }) : null,
      // /billing is for a customer: in sandbox development it signs in as a demo customer.
      customerToken: dev ? await mintToken(config.auth, { sub: 'demo-customer', email: 'demo@example.com', expiresIn: '12h' }) : null,
    });
  });
  app.get(['/dashboard', '/dashboard/'], page('dashboard.html'));
  app.get(['/billing', '/billing/'], page('billing.html'));
  if (!config.isProduction) app.get(['/graphiql', '/graphiql/'], page('graphiql.html'));
}

/** Apollo's landing page, pointing at the bundled GraphiQL instead of Apollo Sandbox on a CDN. */
export function graphiqlLandingPage(): ApolloServerPlugin {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>billing-gateway GraphQL</title>
<meta http-equiv="refresh" content="0; url=/graphiql">
<style>body{font:16px system-ui,sans-serif;margin:3rem;color:#1a1a1a}a{color:#0645ad}</style></head>
<body><h1>billing-gateway GraphQL</h1>
<p>This endpoint speaks GraphQL over HTTP POST and graphql-ws. Explore it in <a href="/graphiql">GraphiQL</a>,
or open the <a href="/dashboard">dashboard</a> or the <a href="/billing">billing page</a>.</p></body></html>`;
  return {
    async serverWillStart() {
      return { async renderLandingPage() { return { html }; } };
    },
  };
}
