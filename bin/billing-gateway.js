#!/usr/bin/env node
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

// The CLI runs from the compiled tree; `npm install` builds it (the `prepare` script).
import('../dist/src/cli/index.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    console.error('billing-gateway: not built yet; run `npm run build` first');
    process.exit(2);
  }
  throw err;
});
