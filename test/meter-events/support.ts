import type Stripe from 'stripe';
import type { MeterEventRecord, RunningEmulator } from '@billing-gateway/stripe-emulator';
import type { Orm } from '../../src/db/orm.js';

export interface LedgerRow {
  id: string;
  customerId: string;
  /** Catalog meter id or event name, as the ledger holds it. */
  meter: string;
  quantity: number;
  /** Unix seconds. */
  timestamp: number;
}

/** Inserts ledger rows directly (the reportUsage API is another module's), unsent. */
export async function insertUsage(orm: Orm, rows: LedgerRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const values = chunk.map(() => `(?, ?, ?, ?, to_timestamp(?), ?)`).join(', ');
    await orm.em.getConnection().execute(
      `insert into "usage_records" ("id", "customer_id", "meter", "quantity", "timestamp", "idempotency_key") values ${values}`,
      chunk.flatMap((r) => [r.id, r.customerId, r.meter, r.quantity, r.timestamp, `key-${r.id}`]),
      'run',
    );
  }
}

export async function ledger(orm: Orm, ids?: string[]): Promise<{ id: string; sent_at: Date | null; send_attempts: number; last_error: string | null; parked_at: Date | null }[]> {
  return orm.em
    .getConnection()
    .execute(
      `select "id", "sent_at", "send_attempts", "last_error", "parked_at" from "usage_records"${ids ? ` where "id" in (?)` : ''} order by "id"`,
      ids ? [ids] : [],
      'all',
    );
}

/** Meter events the emulator stored under these identifiers (each identifier at most once by construction of the store). */
export function storedEvents(emu: RunningEmulator, ids: Iterable<string>): MeterEventRecord[] {
  const wanted = new Set(ids);
  return emu.emulator.store.all<MeterEventRecord>('billing.meter_event').filter((e) => wanted.has(e.identifier));
}

/** Every meter event the emulator stored, by identifier (a double count would show as a count > 1). */
export function identifierCounts(emu: RunningEmulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of emu.emulator.store.all<MeterEventRecord>('billing.meter_event')) counts.set(e.identifier, (counts.get(e.identifier) ?? 0) + 1);
  return counts;
}

/** Stripe's aggregate for a customer over [from, to] (minute-aligned outward), through the SDK. */
export async function summarySum(stripe: Stripe, meterId: string, customer: string, from: number, to: number): Promise<number> {
  const start = Math.floor(from / 60) * 60;
  const end = Math.ceil((to + 1) / 60) * 60;
  const page = await stripe.billing.meters.listEventSummaries(meterId, { customer, start_time: start, end_time: end });
  return page.data.reduce((s, x) => s + x.aggregated_value, 0);
}

