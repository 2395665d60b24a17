#!/usr/bin/env node
// The CLI runs from the compiled tree; `npm install` builds it (the `prepare` script).
import('../dist/src/cli/index.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    console.error('billing-gateway: not built yet; run `npm run build` first');
    process.exit(2);
  }
  throw err;
});
