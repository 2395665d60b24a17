/**
 * Counts the gateway's PostgreSQL statements by their first 70 characters (a preload for its process):
 *
 *   node --experimental-transform-types --no-warnings bench/peers/webhooks.ts --systems gateway --scenarios in-order \
 *     "--gateway-node-options=--import $PWD/bench/webhooks/count-statements.mjs"
 *
 * writes `<tmpdir>/gateway-statements-<pid>.txt` (count, tab, statement; most frequent first) every
 * second and at exit. Both copies of `pg` are counted (the gateway's and MikroORM's driver's).
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (process.argv.some((a) => a.endsWith('dist/src/main.js'))) {
  const root = join(import.meta.dirname, '..', '..');
  const require = createRequire(join(root, 'package.json'));
  const counts = new Map();
  for (const path of ['pg', join(root, 'node_modules/@mikro-orm/postgresql/node_modules/pg')]) {
    let pg;
    try {
      pg = require(path);
    } catch {
      continue;
    }
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (q, ...rest) {
      const text = typeof q === 'string' ? q : (q?.text ?? '');
      const key = text.replace(/\s+/g, ' ').slice(0, 70);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return query.call(this, q, ...rest);
    };
  }
  const file = join(tmpdir(), `gateway-statements-${process.pid}.txt`);
  const dump = () => writeFileSync(file, [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}\t${k}`).join('\n') + '\n');
  setInterval(dump, 1000).unref();
  process.on('exit', dump);
}
