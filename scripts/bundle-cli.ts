/**
 * Bundles the compiled CLI (dist/src/cli/index.js) into dist/cli/: a few chunks instead of ~1,300
 * module files, so a one-shot command (`sync --full`, `token`…) spends its start running code rather
 * than resolving and reading modules. Commands' lazy imports stay lazy (one chunk each). Run by
 * `npm run build` after tsc; bin/billing-gateway.js uses the bundle when it is newer than the tree.
 *
 *   node --experimental-transform-types --no-warnings scripts/bundle-cli.ts
 */
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'rolldown';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Under dist/ so that src/paths.ts finds the project root from any chunk, as from dist/src/. */
const BUNDLE_DIR = 'dist/cli';

/**
 * Left as they are: PGlite reads its WebAssembly and data files beside its own modules, the emulator
 * and pdfkit their data files; pg-native is an optional native module pg asks for only when chosen.
 */
const EXTERNAL = [/^@electric-sql\/pglite(\/|$)/, /^@billing-gateway\/stripe-emulator(\/|$)/, /^pdfkit(\/|$)/, /^pg-native$/];

/**
 * `node:http` imported as a module makes Node build its module facade, which reads every export,
 * including the lazy getters (WebSocket, …) that load Node's bundled undici: ~35 ms of a CLI run
 * that never uses them. Through `require` the getters stay lazy. Named exports are the module's
 * plain values; an import of a getter's name fails the build rather than reading undefined.
 */
function httpThroughRequire(): Plugin {
  const ID = '\0node-http-required';
  const http = createRequire(import.meta.url)('node:http') as Record<string, unknown>;
  const names = Object.entries(Object.getOwnPropertyDescriptors(http))
    .filter(([name, d]) => 'value' in d && /^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default')
    .map(([name]) => name);
  return {
    name: 'http-through-require',
    resolveId: (source) => (source === 'http' || source === 'node:http' ? ID : null),
    load: (id) =>
      id === ID
        ? [
            `import { createRequire } from 'node:module';`,
            `const http = createRequire(import.meta.url)('node:http');`,
            `export default http;`,
            ...names.map((n) => `export const ${n} = http.${n};`),
          ].join('\n')
        : null,
  };
}

rmSync(new URL(BUNDLE_DIR, `file://${ROOT}`), { recursive: true, force: true });
await build({
  cwd: ROOT,
  input: { index: 'dist/src/cli/index.js' },
  platform: 'node',
  external: EXTERNAL,
  plugins: [httpThroughRequire()],
  logLevel: 'warn',
  output: {
    dir: BUNDLE_DIR,
    format: 'esm',
    sourcemap: true,
    chunkFileNames: '[name]-[hash].js',
    // Without comments and whitespace the chunks are a third smaller (8.9 → 6.0 MB), and every run reads,
    // decodes and checks all of a chunk it loads against its compile cache: `sync --full` reached its
    // events 10–25 ms sooner in alternating runs. Names are left as they are (no mangling, no
    // rewriting): class and function names reach error messages, logs and the ORM's metadata; stack
    // traces map back through the source maps.
    minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } },
    comments: false,
  },
});
