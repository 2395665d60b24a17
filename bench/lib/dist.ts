/**
 * The gateway's modules for benches, from the compiled tree (`npm run build`; `npm run bench` builds
 * first). Node's type stripping cannot run the decorators of src/graphql, so benches import dist/
 * and take the types from src/.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The gateway's logger reads LOG_LEVEL as it loads: benches keep it quiet unless told otherwise.
process.env.LOG_LEVEL ??= 'silent';
// As deployed: graphql-js (its instanceof checks) and express read NODE_ENV when they load.
process.env.NODE_ENV ??= 'production';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function loadDist<T>(path: string): Promise<T> {
  const url = new URL(`../../dist/src/${path}.js`, import.meta.url);
  if (!existsSync(url)) throw new Error(`dist/src/${path}.js is missing: run \`npm run build\` first`);
  return (await import(url.href)) as T;
}
