/**
 * Raw statements' parameters are inlined by MikroORM; the gateway's escapeLiteral (whole-string
 * operations instead of one string per character) must give MikroORM's text exactly, and the database
 * must read back what was sent.
 */
import { BasePostgreSqlPlatform } from '@mikro-orm/sql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { escapeLiteral } from '../../src/db/escape-literal.js';
import { queryRows } from '../../src/db/sql.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

let db: TestOrm;
beforeAll(async () => {
  db = await createTestOrm();
});
afterAll(() => db?.dispose());

const SAMPLES = [
  '',
  'plain',
  "it's",
  "''",
  '\\',
  'a\\b',
  "o'\\'x",
  '{"a":"x\\"y","b":"it\'s"}',
  'naïve ☃ 😀 \u0001 \n\t',
  '\ud800 lone surrogate',
  "'".repeat(1000) + 'x'.repeat(100_000),
];

it("gives MikroORM's text for every sample", () => {
  const mikro = (BasePostgreSqlPlatform.prototype as unknown as { escapeLiteral(s: string): string }).escapeLiteral;
  // The method under test replaced the one the ORM's platform instance uses, not the prototype's.
  expect(escapeLiteral).not.toBe(mikro);
  for (const s of SAMPLES) expect(escapeLiteral(s)).toBe(mikro.call(null, s));
});

it("is what the ORM's platform uses", () => {
  const platform = db.orm.em.getConnection().getPlatform() as unknown as { escapeLiteral: unknown };
  expect(platform.escapeLiteral).toBe(escapeLiteral);
});

it('the database reads back what was sent', async () => {
  for (const s of SAMPLES.filter((x) => !x.includes('\ud800') && !x.includes('\u0000'))) {
    const [row] = await queryRows<{ v: string }>(db.orm.em.fork(), `select ?::text as v`, [s]);
    expect(row!.v).toBe(s);
  }
});
