import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const srcDir = dirname(fileURLToPath(import.meta.url));
/** The project root, whether running from `src/` (tests, tsx) or the compiled `dist/src/`. */
export const PROJECT_ROOT = basename(dirname(srcDir)) === 'dist' ? resolve(srcDir, '../..') : resolve(srcDir, '..');
