import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Stored } from '../store.js';
import { formatDate, formatMoney, formatPeriod } from './html.js';

export type InvoiceRecord = Stripe.Invoice & Stored;

/**
 * What the hosted invoice page and its PDF both show, already formatted, so the two cannot drift
 * apart. Amounts are formatted from minor units in the invoice's currency.
 */
export interface InvoiceView {
  id: string;
  title: string;
  number: string;
  status: string;
  accountName: string;
  customerName: string | null;
  customerEmail: string | null;
  created: string;
  dueDate: string | null;
  paidAt: string | null;
  period: string | null;
  lines: { description: string; period: string; quantity: string; amount: string }[];
  totals: { label: string; amount: string; strong?: boolean }[];
  canPay: boolean;
}

export function invoiceView(emu: Emulator, invoice: InvoiceRecord): InvoiceView {
  const cur = invoice.currency;
  const customerId = typeof invoice.customer === 'string' ? invoice.customer : (invoice.customer?.id ?? null);
  const customer = customerId ? emu.store.get<Stripe.Customer & Stored>('customer', customerId) : undefined;
  const discount = (invoice.total_discount_amounts ?? []).reduce((s, d) => s + d.amount, 0);
  const totals: InvoiceView['totals'] = [{ label: 'Subtotal', amount: formatMoney(invoice.subtotal, cur) }];
  if (discount > 0) totals.push({ label: 'Discount', amount: `-${formatMoney(discount, cur)}` });
  const tax = (invoice.total_taxes ?? []).reduce((s, t) => s + t.amount, 0);
  if (tax > 0) totals.push({ label: 'Tax', amount: formatMoney(tax, cur) });
  totals.push({ label: 'Total', amount: formatMoney(invoice.total, cur), strong: true });
  if (invoice.starting_balance !== 0) totals.push({ label: 'Applied balance', amount: formatMoney(invoice.starting_balance, cur) });
  totals.push({ label: 'Amount paid', amount: formatMoney(invoice.amount_paid, cur) });
  totals.push({ label: 'Amount due', amount: formatMoney(invoice.amount_remaining, cur), strong: true });
  return {
    id: invoice.id,
    title: `Invoice ${invoice.number ?? invoice.id}`,
    number: invoice.number ?? '(draft)',
    status: invoice.status ?? 'draft',
    accountName: invoice.account_name ?? 'Offline Stripe emulator',
    customerName: invoice.customer_name ?? customer?.name ?? null,
    customerEmail: invoice.customer_email ?? customer?.email ?? null,
    created: formatDate(invoice.created),
    dueDate: invoice.due_date ? formatDate(invoice.due_date) : null,
    paidAt: invoice.status_transitions?.paid_at ? formatDate(invoice.status_transitions.paid_at) : null,
    period: invoice.period_start && invoice.period_end && invoice.period_end !== invoice.period_start ? formatPeriod(invoice.period_start, invoice.period_end) : null,
    lines: (invoice.lines?.data ?? []).map((line) => ({
      description: line.description ?? 'Line item',
      period: formatPeriod(line.period?.start, line.period?.end),
      quantity: line.quantity === null ? '' : String(line.quantity),
      amount: formatMoney(line.amount, line.currency ?? cur),
    })),
    totals,
    canPay: invoice.status === 'open' && invoice.amount_remaining > 0,
  };
}
