/**
 * Drift of a mirror against the emulator's truth, per table: every customer, subscription and invoice
 * the corpus mentions is re-read from the emulator, then compared with the mirror's row on the fields
 * both systems keep (missing: Stripe has it, the mirror does not; stale: a field differs; extra: the
 * mirror has a live row Stripe no longer has, e.g. a deleted draft invoice).
 */
import type Stripe from 'stripe';

export type Kind = 'customer' | 'subscription' | 'invoice';
export const KINDS: Kind[] = ['customer', 'subscription', 'invoice'];

/** The compared fields of an object (API shape); null: gone (deleted customer). */
export function fieldsOf(kind: Kind, o: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!o || o.deleted === true) return null;
  const items = (o.items as { data?: { price?: { id?: string } | string; quantity?: number }[] } | undefined)?.data ?? [];
  const price = (i: (typeof items)[number]) => (typeof i.price === 'string' ? i.price : i.price?.id);
  switch (kind) {
    case 'customer':
      return { email: o.email ?? null, name: o.name ?? null };
    case 'subscription':
      return {
        status: o.status,
        cancel_at_period_end: o.cancel_at_period_end,
        items: items.map((i) => `${price(i)}×${i.quantity ?? 1}`).sort().join(','),
      };
    case 'invoice':
      return { status: o.status, amount_due: o.amount_due, amount_paid: o.amount_paid, total: o.total };
  }
}

/** The ids of each kind the events are about (their objects and what they point at). */
export function idsOf(events: Stripe.Event[]): Record<Kind, Set<string>> {
  const out: Record<Kind, Set<string>> = { customer: new Set(), subscription: new Set(), invoice: new Set() };
  const add = (v: unknown, prefix: string, kind: Kind) => {
    const id = typeof v === 'string' ? v : (v as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id.startsWith(prefix)) out[kind].add(id);
  };
  for (const e of events) {
    const o = e.data.object as unknown as Record<string, unknown>;
    add(o.id, 'cus_', 'customer');
    add(o.id, 'sub_', 'subscription');
    add(o.id, 'in_', 'invoice');
    add(o.customer, 'cus_', 'customer');
    add(o.subscription, 'sub_', 'subscription');
  }
  return out;
}

export type Truth = Record<Kind, Map<string, Record<string, unknown> | null>>;

export async function readTruth(stripe: Stripe, ids: Record<Kind, Set<string>>): Promise<Truth> {
  const truth: Truth = { customer: new Map(), subscription: new Map(), invoice: new Map() };
  const get = async (kind: Kind, id: string) => {
    try {
      const o =
        kind === 'customer' ? await stripe.customers.retrieve(id) : kind === 'subscription' ? await stripe.subscriptions.retrieve(id) : await stripe.invoices.retrieve(id);
      truth[kind].set(id, fieldsOf(kind, o as unknown as Record<string, unknown>));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      truth[kind].set(id, null);
    }
  };
  for (const kind of KINDS) {
    const list = [...ids[kind]];
    for (let i = 0; i < list.length; i += 20) await Promise.all(list.slice(i, i + 20).map((id) => get(kind, id)));
  }
  return truth;
}

export interface Drift {
  missing: number;
  stale: number;
  extra: number;
  /** A few examples, for the log. */
  examples: string[];
}

/** `mirror`: kind → id → compared fields (null: the row says deleted). Ids outside the truth are ignored. */
export function compare(truth: Truth, mirror: Record<Kind, Map<string, Record<string, unknown> | null>>): Record<Kind, Drift> {
  const out = {} as Record<Kind, Drift>;
  for (const kind of KINDS) {
    const d: Drift = { missing: 0, stale: 0, extra: 0, examples: [] };
    for (const [id, want] of truth[kind]) {
      const has = mirror[kind].has(id);
      const got = mirror[kind].get(id) ?? null;
      if (want === null) {
        if (has && got !== null) {
          d.extra++;
          if (d.examples.length < 3) d.examples.push(`extra ${id}`);
        }
        continue;
      }
      if (!has || got === null) {
        d.missing++;
        if (d.examples.length < 3) d.examples.push(`missing ${id}`);
        continue;
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        d.stale++;
        if (d.examples.length < 3) d.examples.push(`stale ${id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
      }
    }
    out[kind] = d;
  }
  return out;
}

export function driftLine(drift: Record<Kind, Drift>): string {
  return KINDS.map((k) => `${k}s ${drift[k].missing}/${drift[k].stale}/${drift[k].extra}`).join(', ');
}

export function driftTotal(drift: Record<Kind, Drift>): { missing: number; stale: number; extra: number } {
  return KINDS.reduce((a, k) => ({ missing: a.missing + drift[k].missing, stale: a.stale + drift[k].stale, extra: a.extra + drift[k].extra }), { missing: 0, stale: 0, extra: 0 });
}
