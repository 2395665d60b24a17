/**
 * On a Node older than the gateway needs (this machine's /usr/bin/node is 20), the README's commands still
 * work: npm runs scripts and npx with node_modules/.bin first, where the `node` dev dependency puts Node 24.
 * Run directly on the old Node, the CLI stops at once with one line saying how to get Node 22.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';
import { BIN, runBin } from './support.js';

const run = promisify(execFile);
const OLD_NODE = '/usr/bin/node';
const OLD_NPM = '/usr/bin/npm';

async function versionOf(node: string): Promise<string> {
  return (await run(node, ['-p', 'process.versions.node'])).stdout.trim();
}
const atLeast2217 = (v: string) => {
  const [major, minor] = v.split('.').map(Number) as [number, number];
  return major > 22 || (major === 22 && minor >= 17);
};

const oldNode = existsSync(OLD_NODE) && existsSync(OLD_NPM) ? await versionOf(OLD_NODE) : undefined;

describe.runIf(oldNode && !atLeast2217(oldNode))(`on this machine's Node ${oldNode}`, () => {
  it('npm scripts and npx run on a Node >= 22.17 that npm installed', async () => {
    const { stdout } = await run(OLD_NPM, ['exec', '--offline', '--', 'node', '-p', 'process.versions.node'], {
      cwd: PROJECT_ROOT,
      env: { PATH: `/usr/bin:${process.env.PATH}`, HOME: process.env.HOME },
    });
    expect(atLeast2217(stdout.trim()), stdout).toBe(true);
  });

  it('the CLI run directly on the old Node stops in one line that says how to get Node 22', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(OLD_NODE, [BIN, 'token', '--sub', 'x'], { cwd: PROJECT_ROOT, env: { PATH: '/usr/bin' } }, (err, stdout, stderr) =>
        done({ code: err ? (err.code as number) : 0, stdout, stderr }),
      );
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `billing-gateway: Node ${oldNode} is too old, Node 22.17 or newer is needed: run it through npm (npm start, npx billing-gateway …), ` +
        'which uses the Node that npm install put in node_modules/.bin, or install Node 22+ (https://nodejs.org/en/download, or nvm install 22)',
    ]);
    // The same command on the Node npm supplies works.
    expect((await runBin(['token', '--sub', 'x'], { AUTH_JWT_SECRET: 'x'.repeat(40) }, PROJECT_ROOT)).code).toBe(0);
  });
});
