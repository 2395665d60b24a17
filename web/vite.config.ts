import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * What every page's HTML shares, added here so that each page's .html names only its title and entry:
 * the charset first, the viewport, no favicon request, and the element React renders into.
 */
const pageShell: Plugin = {
  name: 'page-shell',
  transformIndexHtml: () => [
    { tag: 'meta', attrs: { charset: 'utf-8' }, injectTo: 'head-prepend' },
    { tag: 'meta', attrs: { name: 'viewport', content: 'width=device-width, initial-scale=1' }, injectTo: 'head-prepend' },
    { tag: 'link', attrs: { rel: 'icon', href: 'data:,' }, injectTo: 'head-prepend' },
    { tag: 'div', attrs: { id: 'root' }, injectTo: 'body-prepend' },
  ],
};

// One multi-page build: each page loads only its own chunks (GraphiQL's editor never reaches /billing).
export default defineConfig({
  root: here('.'),
  // The gateway serves the assets under /web/ and the pages at /dashboard, /billing, /graphiql.
  base: '/web/',
  publicDir: false,
  plugins: [pageShell],
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 6000,
    rollupOptions: {
      input: { dashboard: here('dashboard.html'), billing: here('billing.html'), graphiql: here('graphiql.html') },
      // GraphiQL's dependencies carry React Server Components directives, meaningless in a browser bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
