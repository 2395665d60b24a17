import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

/**
 * Builds `dist/` once before any test file runs: the end-to-end and CLI tests start the compiled
 * gateway and CLI as separate processes, exactly as users run them.
 */
export default function buildOnce(): void {
  // The emulator package first: the compiled gateway imports its compiled entry.
  for (const project of ['packages/stripe-emulator/tsconfig.build.json', 'tsconfig.build.json']) {
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  }
  // Then the CLI's bundle (scripts/bundle-cli.ts), which the bin runs one-shot commands from.
  execFileSync(process.execPath, ['--experimental-transform-types', '--no-warnings', join(PROJECT_ROOT, 'scripts/bundle-cli.ts')], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}
