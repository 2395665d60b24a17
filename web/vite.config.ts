import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// One multi-page build: each page loads only its own chunks (GraphiQL's editor never reaches /billing).
export default defineConfig({
  root: here('.'),
  // The gateway serves the assets under /web/ and the pages at /dashboard, /billing, /graphiql.
  base: '/web/',
  publicDir: false,
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
