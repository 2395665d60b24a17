/**
 * `keys create|list|revoke` run as the real binary against a migrated gateway database and an
 * emulator: the secret printed once, never listed, exit codes for bad usage and unknown keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { jsonOf, runBin, type CliRun } from '../cli/support.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let workDir: string;
let db: TestDatabase;
let emu: RunningEmulator;

const run = (args: string[]): Promise<CliRun> =>
  runBin(
    args,
    {
      NODE_ENV: 'test',
      DATA_DIR: db.env.DATA_DIR ?? join(workDir, 'data'),
      DATABASE_URL: db.env.DATABASE_URL,
      STRIPE_API_BASE: emu.url,
      AUTH_JWT_SECRET: 'cli-keys-test-secret-0123456789abcdefghij',
    },
    workDir,
  );

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'bg-cli-keys-'));
  db = await createTestDatabase();
  emu = await startEmulator({ port: 0 });
  expect((await run(['setup', '--json'])).code).toBe(0);
  const sub = await run(['subscriptions', 'create', '--customer', 'cli_keys', '--plan', 'basic_monthly', '--payment-method', 'pm_card_visa', '--json']);
  expect(sub.code, sub.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await db?.dispose();
  rmSync(workDir, { recursive: true, force: true });
});

it('creates a key (secret shown once), lists it without the secret, revokes it', async () => {
  const created = await run(['keys', 'create', '--customer', 'cli_keys', '--name', 'cli server', '--json']);
  expect(created.code, created.stderr).toBe(0);
  const { apiKey, secret } = jsonOf<{ apiKey: { id: string; customerId: string; prefix: string }; secret: string }>(created);
  expect(secret).toMatch(/^bg_test_/);
  expect(apiKey.customerId).toMatch(/^cus_/);

  const human = await run(['keys', 'create', '--customer', 'cli_keys', '--name', 'second']);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/bg_test_[0-9A-Za-z]{32}/);

  const list = await run(['keys', 'list', '--customer', 'cli_keys', '--json']);
  expect(list.code, list.stderr).toBe(0);
  expect(jsonOf<{ keys: { id: string; name: string }[] }>(list).keys.map((k) => k.name)).toEqual(['cli server', 'second']);
  expect(list.stdout).not.toContain(secret);
  const all = await run(['keys', 'list']);
  expect(all.stdout).toContain(apiKey.id);
  expect(all.stdout).not.toContain(secret);

  const revoked = await run(['keys', 'revoke', apiKey.id, '--json']);
  expect(revoked.code, revoked.stderr).toBe(0);
  expect(jsonOf<{ revokedAt: string | null }>(revoked).revokedAt).not.toBeNull();
});

it('exits 2 for bad usage and 1 for an unknown key or customer, in one line', async () => {
  const bad = await run(['keys', 'create', '--customer', 'cli_keys', '--name', 'x', '--expires', 'not-a-date']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--expires');
  expect((await run(['keys', 'create', '--customer', 'cli_keys'])).code).toBe(2);
  const unknown = await run(['keys', 'revoke', 'key_doesnotexist']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  expect((await run(['keys', 'list', '--customer', 'nobody_here'])).code).toBe(1);
});
