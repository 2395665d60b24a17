/**
 * Writes to the usage ledger (`usage_records`). A key counts once, forever: inserts are
 * `on conflict (customer_id, idempotency_key) do nothing`, and a key already there is answered with
 * the row that holds it. `sent_at` stays null: the flusher pushes new rows to Stripe Billing Meters
 * with `identifier` = the row id.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from '../../db/sql.js';
import { boundRows } from '../../stripe/mirror/bound-sql.js';

/** A row to insert; `meter` is the Stripe event name (what the flusher sends). */
export interface NewUsageRow {
  customerId: string;
  meter: string;
  quantity: number;
  timestamp: Date;
  idempotencyKey: string;
}

export interface LedgerRow extends NewUsageRow {
  id: string;
}

interface DbRow {
  id: string;
  customer_id: string;
  meter: string;
  quantity: number;
  timestamp: Date | string;
  idempotency_key: string;
}

const toLedgerRow = (r: DbRow): LedgerRow => ({
  id: r.id,
  customerId: r.customer_id,
  meter: r.meter,
  quantity: Number(r.quantity),
  timestamp: r.timestamp instanceof Date ? r.timestamp : new Date(r.timestamp),
  idempotencyKey: r.idempotency_key,
});

const pairKey = (customerId: string, key: string) => `${customerId}\u0000${key}`;

/** One answer of `insertUsageRows`: the row holding the pair, and whether this input inserted it. */
export interface InsertedUsage {
  row: LedgerRow;
  inserted: boolean;
}

/**
 * Many rows in one statement (`jsonb_to_recordset`: one parameter, no per-row round trip). A
 * (customer, key) pair may repeat: it is inserted once, and only its first occurrence (the first
 * caller) gets `inserted: true`; later ones get the same row. One answer per row, in order; null if
 * no row holds the pair (it vanished between the insert and the read).
 */
export async function insertUsageRows(em: EntityManager, rows: readonly NewUsageRow[]): Promise<(InsertedUsage | null)[]> {
  if (rows.length === 0) return [];
  const firstOfPair = new Map<string, LedgerRow>();
  for (const r of rows) {
    const k = pairKey(r.customerId, r.idempotencyKey);
    if (!firstOfPair.has(k)) firstOfPair.set(k, { id: randomUUID(), ...r });
  }
  const withIds = [...firstOfPair.values()];
  const json = JSON.stringify(
    withIds.map((r) => ({ id: r.id, customer_id: r.customerId, meter: r.meter, quantity: r.quantity, timestamp: r.timestamp.toISOString(), idempotency_key: r.idempotencyKey })),
  );
  const inserted = await queryRows<{ id: string }>(
    em,
    `insert into usage_records (id, customer_id, meter, quantity, "timestamp", idempotency_key)
     select id, customer_id, meter, quantity, "timestamp", idempotency_key
     from jsonb_to_recordset(?::jsonb) as r(id text, customer_id text, meter text, quantity int, "timestamp" timestamptz, idempotency_key text)
     on conflict (customer_id, idempotency_key) do nothing returning id`,
    [json],
  );
  const insertedIds = new Set(inserted.map((r) => r.id));
  const held = new Map<string, LedgerRow>();
  const insertedPairs = new Set<string>();
  const missing: NewUsageRow[] = [];
  for (const r of withIds) {
    const k = pairKey(r.customerId, r.idempotencyKey);
    if (insertedIds.has(r.id)) {
      held.set(k, r);
      insertedPairs.add(k);
    } else missing.push(r);
  }
  if (missing.length > 0) for (const [k, v] of await findUsageRows(em, missing)) held.set(k, v);
  const answered = new Set<string>();
  return rows.map((r) => {
    const k = pairKey(r.customerId, r.idempotencyKey);
    const row = held.get(k);
    if (!row) return null;
    const first = !answered.has(k);
    answered.add(k);
    return { row, inserted: first && insertedPairs.has(k) };
  });
}

/**
 * Ledger rows in columns, for writers that only need to know which rows they inserted (not the rows):
 * `times` in epoch ms.
 */
export interface UsageColumns {
  customerIds: readonly string[];
  meters: readonly string[];
  quantities: readonly number[];
  times: readonly number[];
  keys: readonly string[];
}

/**
 * `insertUsageRows` for callers that keep nothing of the rows: one statement, the ids made by
 * PostgreSQL, the timestamps sent as epoch ms, and one array of the inserted rows' positions as the
 * answer, where `insertUsageRows` makes and parses an id, an ISO string and a returned row per row (its
 * objects outlive a young-generation GC on a busy process). true: this input inserted its row (the
 * first of a pair repeated in the batch); false: the pair was counted before, by this call or another.
 */
export async function insertUsageColumns(em: EntityManager, rows: UsageColumns): Promise<boolean[]> {
  const n = rows.keys.length;
  const inserted: boolean[] = new Array<boolean>(n).fill(false);
  if (n === 0) return inserted;
  // The first occurrence of each pair goes in (a pair twice in one statement would need a second look).
  const first = new Set<string>();
  const sent: number[] = [];
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const k = pairKey(rows.customerIds[i]!, rows.keys[i]!);
    if (first.has(k)) continue;
    first.add(k);
    sent.push(i);
    values.push([rows.customerIds[i], rows.meters[i], rows.quantities[i], rows.times[i], rows.keys[i]]);
  }
  const [answer] = await queryRows<{ inserted: number[] }>(
    em,
    `with r as (
       select e.n::int as n, e.v->>0 as customer_id, e.v->>1 as meter, (e.v->>2)::int as quantity,
              timestamptz 'epoch' + (e.v->>3)::bigint * interval '1 millisecond' as "timestamp", e.v->>4 as idempotency_key
       from jsonb_array_elements(?::jsonb) with ordinality as e(v, n)
     ), ins as (
       insert into usage_records (id, customer_id, meter, quantity, "timestamp", idempotency_key)
       select gen_random_uuid()::text, customer_id, meter, quantity, "timestamp", idempotency_key from r
       on conflict (customer_id, idempotency_key) do nothing
       returning customer_id, idempotency_key
     )
     select coalesce(array_agg(r.n), '{}') as inserted from ins join r using (customer_id, idempotency_key)`,
    [JSON.stringify(values)],
  );
  for (const position of answer?.inserted ?? []) inserted[sent[position - 1]!] = true;
  return inserted;
}

/**
 * Rows holding these (customer, key) pairs, keyed by pair: one prepared statement over bound arrays
 * (bound-sql.ts) whatever their number. The API keys' refusal path asks it for every refused call with
 * a requestId, so no JSON document is parsed and no statement planned per call.
 */
export async function findUsageRows(em: EntityManager, pairs: readonly { customerId: string; idempotencyKey: string }[]): Promise<Map<string, LedgerRow>> {
  if (pairs.length === 0) return new Map();
  const rows = await boundRows<DbRow>(
    em,
    `select u.id, u.customer_id, u.meter, u.quantity, u."timestamp", u.idempotency_key from usage_records u
       join unnest($1::text[], $2::text[]) as k(customer_id, idempotency_key) on u.customer_id = k.customer_id and u.idempotency_key = k.idempotency_key`,
    [pairs.map((p) => p.customerId), pairs.map((p) => p.idempotencyKey)],
  );
  return new Map(rows.map((r) => [pairKey(r.customer_id, r.idempotency_key), toLedgerRow(r)]));
}

export { pairKey as usagePairKey };
