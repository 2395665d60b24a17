#!/usr/bin/env node
import { statSync } from 'node:fs';
import module from 'node:module';
import { missingHeapFlags } from './heap-flags.js';

// npm scripts and npx run this under the Node in node_modules/.bin (the `node` dev dependency); a bare
// `node bin/billing-gateway.js` on an older Node stops here in one line rather than failing somewhere later.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 17)) {
  console.error(
    `billing-gateway: Node ${process.versions.node} is too old, Node 22.17 or newer is needed: run it through npm (npm start, npx billing-gateway …), ` +
      'which uses the Node that npm install put in node_modules/.bin, or install Node 22+ (https://nodejs.org/en/download, or nvm install 22)',
  );
  process.exit(1);
}

// The servers run with the gateway's heap flags (see heap-flags.js). V8 reads them only at start-up
// (v8.setFlagsFromString is too late for the semi-space), so the process replaces itself once with
// them; process.execve keeps the pid, stdio and signals (no wrapper process). Where it does not exist
// (Windows), the server runs with Node's defaults.
const SERVERS = new Set(['serve', 'webhook']);
const missing = SERVERS.has(process.argv[2]) && typeof process.execve === 'function' ? missingHeapFlags() : [];
if (missing.length > 0) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...missing, ...process.argv.slice(1)], process.env);
}

// Node keeps the compiled code of the modules on disk (its compile cache: NODE_COMPILE_CACHE, else the OS
// temp directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a one-shot command such as `sync` loads
// ~1,300 modules, and compiling them again on every run was a tenth of its time. Where the directory
// cannot be written, Node runs without it.
module.enableCompileCache?.();

// The CLI runs from the compiled tree; `npm install` builds it (the `prepare` script). One-shot commands
// load it bundled (dist/cli, scripts/bundle-cli.ts: a few files instead of ~1,300) when that bundle is at
// least as new as the tree, so a later tsc-only build is never shadowed by an older bundle. The servers
// load the tree as compiled.
const tree = new URL('../dist/src/cli/index.js', import.meta.url);
const bundle = new URL('../dist/cli/index.js', import.meta.url);
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundled = !SERVERS.has(process.argv[2]) && process.argv[2] !== 'emulator' && mtime(bundle) >= Math.max(mtime(tree), 0);
import(bundled ? bundle.href : tree.href).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(bundled ? 'dist/cli/index.js' : 'dist/src/cli')) {
    console.error('billing-gateway: not built yet; run `npm run build` first');
    process.exit(2);
  }
  throw err;
});
