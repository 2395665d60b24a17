#!/usr/bin/env node
import { missingHeapFlags } from './heap-flags.js';

// The servers run with the gateway's heap flags (see heap-flags.js). V8 reads them only at start-up
// (v8.setFlagsFromString is too late for the semi-space), so the process replaces itself once with
// them; process.execve keeps the pid, stdio and signals (no wrapper process). Where it does not exist
// (Windows), the server runs with Node's defaults.
const SERVERS = new Set(['serve', 'webhook']);
const missing = SERVERS.has(process.argv[2]) && typeof process.execve === 'function' ? missingHeapFlags() : [];
if (missing.length > 0) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...missing, ...process.argv.slice(1)], process.env);
}

// The CLI runs from the compiled tree; `npm install` builds it (the `prepare` script).
import('../dist/src/cli/index.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    console.error('billing-gateway: not built yet; run `npm run build` first');
    process.exit(2);
  }
  throw err;
});
