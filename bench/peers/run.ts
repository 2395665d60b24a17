/** `npm run bench -- peers`: the runner loads `bench/<name>/run.ts`; the part is in index.ts. */
import { part } from './index.ts';
import { runIfMain } from '../lib/report.ts';

export { part };

runIfMain(import.meta.url, part);
