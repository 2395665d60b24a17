import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: [
      // graphql 16 has no exports map; without this a test can load two copies of it.
      { find: /^graphql$/, replacement: 'graphql/index.js' },
      // Tests run the emulator's TypeScript sources, like the gateway's, rather than its compiled entry.
      { find: /^@billing-gateway\/stripe-emulator$/, replacement: fileURLToPath(new URL('./packages/stripe-emulator/src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
  },
});
