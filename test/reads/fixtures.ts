/**
 * Mirror rows for read tests, inserted through the ORM as the mirror writers would leave them
 * (`raw` carries what the MRR computation reads: items with their prices).
 */
import type { EntityManager } from '@mikro-orm/core';
import { Customer } from '../../src/db/entities/customer.js';
import { Invoice, InvoiceLine } from '../../src/db/entities/invoice.js';
import { Subscription, type SubscriptionDiscount } from '../../src/db/entities/subscription.js';

export const T0 = Date.parse('2026-03-01T00:00:00Z');
export const at = (seconds: number): Date => new Date(T0 + seconds * 1000);

export function customer(em: EntityManager, id: string, externalId: string | null, createdAt: Date): Customer {
  return em.create(Customer, { id, externalId, email: `${externalId ?? id}@example.com`, name: `Name ${id}`, metadata: {}, createdAt, raw: { id, object: 'customer' } as never });
}

interface PriceSpec {
  id: string;
  lookupKey?: string | null;
  unitAmount: number | null;
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount?: number;
  usageType?: 'licensed' | 'metered';
  currency?: string;
}

export const PRICES = {
  basic: { id: 'price_basic', lookupKey: 'basic_monthly', unitAmount: 100, interval: 'month' },
  pro: { id: 'price_pro', lookupKey: 'pro_monthly', unitAmount: 500, interval: 'month' },
  proYearly: { id: 'price_pro_yearly', lookupKey: 'pro_yearly', unitAmount: 5000, interval: 'year' },
  apiCalls: { id: 'price_api', lookupKey: 'basic_monthly__api_calls', unitAmount: null, interval: 'month', usageType: 'metered' },
} satisfies Record<string, PriceSpec>;

export interface SubscriptionSpec {
  id: string;
  customerId: string;
  status: Subscription['status'];
  planId: string | null;
  price: PriceSpec;
  quantity: number;
  createdAt: Date;
  metered?: PriceSpec;
  discount?: SubscriptionDiscount | null;
  latestInvoiceId?: string | null;
  currency?: string;
  cancelAtPeriodEnd?: boolean;
  trialEnd?: Date | null;
  /** Write the licensed item's price as a bare id in `raw` (as Stripe does when not expanded). */
  bareItemPrice?: boolean;
}

const stripePrice = (p: PriceSpec) => ({
  id: p.id,
  object: 'price',
  lookup_key: p.lookupKey ?? null,
  currency: p.currency ?? 'usd',
  unit_amount: p.unitAmount,
  recurring: { interval: p.interval, interval_count: p.intervalCount ?? 1, usage_type: p.usageType ?? 'licensed' },
});

export function subscription(em: EntityManager, s: SubscriptionSpec): Subscription {
  const start = s.createdAt;
  const end = new Date(start.getTime() + 30 * 86_400_000);
  const items = [
    { id: `si_${s.id}_1`, object: 'subscription_item', quantity: s.quantity, price: s.bareItemPrice ? s.price.id : stripePrice(s.price) },
    ...(s.metered ? [{ id: `si_${s.id}_2`, object: 'subscription_item', price: stripePrice(s.metered) }] : []),
  ];
  return em.create(Subscription, {
    id: s.id,
    customerId: s.customerId,
    status: s.status,
    planId: s.planId,
    priceId: s.price.id,
    quantity: s.quantity,
    currency: s.currency ?? 'usd',
    currentPeriodStart: start,
    currentPeriodEnd: end,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd ?? false,
    trialEnd: s.trialEnd ?? null,
    latestInvoiceId: s.latestInvoiceId ?? null,
    discount: s.discount ?? null,
    // Deliberately not the exact value: reads must compute from the items, not sum this rounded column.
    mrrAmount: null,
    metadata: {},
    createdAt: s.createdAt,
    raw: { id: s.id, object: 'subscription', items: { object: 'list', data: items, has_more: false } } as never,
  });
}

export interface InvoiceSpec {
  id: string;
  customerId: string;
  subscriptionId?: string | null;
  status?: Invoice['status'];
  total: number;
  createdAt: Date;
  amountPaid?: number;
  currency?: string;
  lines?: { description: string; amount: number; quantity?: number | null; proration?: boolean }[];
}

export function invoice(em: EntityManager, s: InvoiceSpec): Invoice {
  const status = s.status ?? 'paid';
  const currency = s.currency ?? 'usd';
  const row = em.create(Invoice, {
    id: s.id,
    customerId: s.customerId,
    subscriptionId: s.subscriptionId ?? null,
    number: `NUM-${s.id}`,
    status,
    billingReason: 'subscription_cycle',
    currency,
    subtotal: s.total,
    total: s.total,
    amountDue: s.total,
    amountPaid: s.amountPaid ?? (status === 'paid' ? s.total : 0),
    attemptCount: status === 'paid' ? 1 : 0,
    createdAt: s.createdAt,
    periodStart: s.createdAt,
    periodEnd: new Date(s.createdAt.getTime() + 30 * 86_400_000),
    dueDate: null,
    paidAt: status === 'paid' ? s.createdAt : null,
    hostedInvoiceUrl: `https://invoice.example/${s.id}`,
    invoicePdf: `https://invoice.example/${s.id}.pdf`,
    raw: { id: s.id, object: 'invoice' } as never,
  });
  (s.lines ?? []).forEach((l, position) =>
    em.create(InvoiceLine, {
      id: `il_${s.id}_${position}`,
      invoiceId: s.id,
      description: l.description,
      amount: l.amount,
      currency,
      quantity: l.quantity ?? null,
      periodStart: s.createdAt,
      periodEnd: new Date(s.createdAt.getTime() + 30 * 86_400_000),
      priceId: null,
      proration: l.proration ?? false,
      position,
    }),
  );
  return row;
}
