/** The optional hard cap (`limit`) of a plan meter in the catalog. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG_PATH, loadCatalog, parseCatalog } from '../../src/catalog.js';

const raw = () => JSON.parse(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'));

describe('plan meter limit (hard cap)', () => {
  it('the default catalog has none', () => {
    for (const plan of loadCatalog().plans) for (const m of plan.meters) expect(m.limit).toBeUndefined();
  });

  it('is accepted at or above included, refused below it or when not a positive whole number', () => {
    const c = raw();
    c.plans[1].meters[0].limit = 20_000;
    expect(parseCatalog(c).plans[1]!.meters[0]!.limit).toBe(20_000);
    for (const bad of [9_999, 0, 1.5, '100']) {
      const b = raw();
      b.plans[1].meters[0].limit = bad;
      expect(() => parseCatalog(b, 'test')).toThrow(/plans\.1\.meters\.0\.limit/);
    }
  });
});
