/**
 * docker-compose.yml and the Dockerfile name only variables the gateway reads (src/config.ts), so a typo
 * cannot silently configure nothing; .env.example itself is checked in test/config.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_HEAP_FLAGS, missingHeapFlags } from '../../bin/heap-flags.js';
import { CONFIG_VARIABLES } from '../../src/config.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { createTestDatabase } from '../support/db.js';
import { startGatewayProcess } from '../support/gateway-process.js';

const read = (file: string) => readFileSync(join(PROJECT_ROOT, file), 'utf8');

describe('deployment files', () => {
  it('docker-compose.yml: the gateway reads .env and sets only known variables', () => {
    const compose = read('docker-compose.yml');
    const gateway = compose.slice(compose.indexOf('\n  gateway:'));
    expect(gateway).toMatch(/env_file:\n\s+- path: \.env\n/);
    const environment = /\n {4}environment:\n((?: {6}.*\n)+)/.exec(gateway)![1]!;
    const keys = [...environment.matchAll(/^ {6}([A-Z0-9_]+):/gm)].map((m) => m[1]);
    expect(keys.length).toBeGreaterThan(0);
    const interpolated = [...compose.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]);
    for (const name of [...keys, ...interpolated]) expect(CONFIG_VARIABLES, name).toContain(name);
  });

  it('Dockerfile: builds with the lock file and runs the CLI from the compiled tree with a writable DATA_DIR', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toContain('RUN npm ci --ignore-scripts');
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toContain('RUN npm ci --omit=dev --ignore-scripts');
    for (const dir of ['dist', 'bin', 'catalog']) expect(dockerfile).toMatch(new RegExp(`^COPY .*\\s\\./${dir}$`, 'm'));
    const envs = [...dockerfile.matchAll(/^ENV ([A-Z0-9_]+)=/gm)].map((m) => m[1]);
    for (const name of envs) expect(CONFIG_VARIABLES, name).toContain(name);
    expect(dockerfile).toMatch(/chown node:node \/data/);
    expect(dockerfile).toContain('CMD ["node", "bin/billing-gateway.js", "serve"]');
  });

  // The serving process's own argv (/proc, Linux): process.execve in the bin keeps the pid.
  it.skipIf(!existsSync('/proc/self/cmdline'))(
    'npm start serves from a process running with the heap flags (bin/heap-flags.js), except those NODE_OPTIONS sets',
    async () => {
      // `npm start` builds, then runs its last command: run that command as npm would, without the build.
      const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
      const [program, ...args] = start.split('&&').at(-1)!.trim().split(/\s+/);
      expect(program).toBe('node');
      const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const db = await createTestDatabase();
      const serve = (env: Record<string, string> = {}) => startGatewayProcess({ ...db.env, ...env }, { args, dataDir: db.env.DATA_DIR });
      try {
        const plain = await serve();
        try {
          expect(argvOf(plain.pid)).toEqual(expect.arrayContaining([...GATEWAY_HEAP_FLAGS]));
        } finally {
          await plain.stop();
        }
        const tuned = await serve({ NODE_OPTIONS: '--max-old-space-size=512' });
        try {
          const argv = argvOf(tuned.pid);
          // The old-space size is left to NODE_OPTIONS (not repeated on the command line); the others are added.
          expect(argv.filter((a) => a.startsWith('--max-old-space-size'))).toEqual([]);
          expect(argv).toEqual(expect.arrayContaining(GATEWAY_HEAP_FLAGS.filter((f) => !f.startsWith('--max-old-space-size'))));
        } finally {
          await tuned.stop();
        }
      } finally {
        await db.dispose();
      }
    },
    90_000,
  );

  it('heap flags: a value set on the command line or in NODE_OPTIONS wins (either spelling)', () => {
    expect(missingHeapFlags([], '')).toEqual([...GATEWAY_HEAP_FLAGS]);
    const [semi, old] = GATEWAY_HEAP_FLAGS.map((f) => f.split('=')[0]!);
    expect(missingHeapFlags([`${semi}=64`], '')).toEqual(GATEWAY_HEAP_FLAGS.filter((f) => !f.startsWith(semi!)));
    expect(missingHeapFlags([], `--foo ${old!.replaceAll('-', '_').replace(/^__/, '--')}=1024`)).toEqual(GATEWAY_HEAP_FLAGS.filter((f) => !f.startsWith(old!)));
    expect(missingHeapFlags([...GATEWAY_HEAP_FLAGS], '')).toEqual([]);
  });
});
