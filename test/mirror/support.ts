import Stripe from 'stripe';
import { loadCatalog, type Catalog } from '../../src/catalog.js';
import { startEmulator, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { syncCatalog } from '../../src/stripe/catalog-sync.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

export interface MirrorWorld {
  emu: RunningEmulator;
  stripe: Stripe;
  db: TestOrm;
  catalog: Catalog;
  /** Licensed and metered prices by lookup key. */
  prices: Map<string, Stripe.Price>;
  close(): Promise<void>;
}

/** An emulator with the default catalog synced to it, and a database with that catalog mirrored. */
export async function mirrorWorld(): Promise<MirrorWorld> {
  const emu = await startEmulator({ port: 0 });
  const stripe = new Stripe('sk_test_mirror', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
  const db = await createTestOrm();
  const catalog = loadCatalog();
  const report = await syncCatalog(stripe, catalog);
  await mirrorCatalog(db.orm.em.fork(), report);
  const prices = new Map(report.prices.map((p) => [p.lookup_key!, p]));
  return {
    emu,
    stripe,
    db,
    catalog,
    prices,
    close: async () => {
      await db.dispose();
      await emu.close();
    },
  };
}

/** The JSON form of a Stripe object, as `raw` reads back (Decimals as strings). */
export const json = <T>(obj: T): unknown => JSON.parse(JSON.stringify(obj));

export const seconds = (d: Date | null | undefined): number | null => (d ? d.getTime() / 1000 : null);

export const DAY = 86_400;
/** 2026-01-01T00:00:00Z */
export const JAN_1_2026 = Date.UTC(2026, 0, 1) / 1000;
