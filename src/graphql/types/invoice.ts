// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Node } from './node.js';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { InvoiceLineView, InvoiceView, UnstoredInvoice } from '../../billing/invoices/invoice-view.js';
import { formatMoney } from '../../money.js';
import { InvoiceStatus } from './enums.js';
import { Money } from './money.js';
import { PageInfo } from './pagination.js';

// `InvoiceStatus` lives in ./enums.ts: values are Stripe's lower-case statuses.
export { InvoiceStatus } from './enums.js';

@ObjectType({ implements: Node, description: 'One line of an invoice.' })
export class InvoiceLine implements Node {
  @Field(() => ID, { description: "Stripe's line id (il_…)." })
  id!: string;

  @Field(() => String, { nullable: true, description: "Stripe's line description." })
  description!: string | null;

  @Field(() => Money, { description: "The line's amount." })
  amount!: Money;

  @Field(() => Int, { nullable: true, description: 'Seats or units, if any.' })
  quantity!: number | null;

  @Field(() => Date, { nullable: true, description: 'Start of the period the line covers.' })
  periodStart!: Date | null;

  @Field(() => Date, { nullable: true, description: 'End of the period the line covers.' })
  periodEnd!: Date | null;

  @Field({ description: 'True for a proration line (a plan or quantity change mid-period).' })
  proration!: boolean;

  /** Not a GraphQL field: the invoice it belongs to (null on a preview's lines). */
  invoiceId!: string | null;
}

/**
 * An invoice. Build it with `toInvoice(row)` from an `invoices` mirror row (its lines are loaded
 * lazily through the request's DataLoader), or with `toUnstoredInvoice(preview)` from an invoice
 * that is not stored (an upcoming invoice preview): then its lines come with it. `lines`, `customer`
 * and `subscription` are field resolvers (InvoiceResolver).
 */
@ObjectType({ implements: Node, description: "A Stripe invoice, read from the gateway's mirror." })
export class Invoice implements Node {
  @Field(() => ID, { description: "Stripe invoice id (in_…); upcoming previews use Stripe's upcoming_in… id." })
  id!: string;

  @Field(() => String, { nullable: true, description: "Stripe's invoice number, once finalised." })
  number!: string | null;

  @Field(() => InvoiceStatus, { description: "Stripe's status." })
  status!: InvoiceStatus;

  @Field(() => Money, { description: 'Before discounts and taxes.' })
  subtotal!: Money;

  @Field(() => Money, { description: 'The invoice total.' })
  total!: Money;

  @Field(() => Money, { description: 'What remains to be paid.' })
  amountDue!: Money;

  @Field(() => Money, { description: 'What was paid.' })
  amountPaid!: Money;

  @Field(() => Int, { description: 'Payment attempts so far.' })
  attemptCount!: number;

  @Field(() => Date, { description: 'When Stripe created it.' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Start of the billed period.' })
  periodStart!: Date | null;

  @Field(() => Date, { nullable: true, description: 'End of the billed period.' })
  periodEnd!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When payment is due, if set.' })
  dueDate!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it was paid, if it was.' })
  paidAt!: Date | null;

  @Field(() => String, { nullable: true, description: "Stripe's hosted invoice page, once finalised." })
  hostedInvoiceUrl!: string | null;

  @Field(() => String, { nullable: true, description: 'The PDF, once finalised.' })
  pdfUrl!: string | null;

  @Field(() => String, { nullable: true, description: 'Why Stripe created it: subscription_create, subscription_cycle, subscription_update, manual, …' })
  billingReason!: string | null;

  // Not GraphQL fields: what the field resolvers read.
  customerId!: string;
  subscriptionId!: string | null;
  /** The lines, when the invoice came with them (a Stripe object); undefined: load by id from the mirror. */
  inlineLines?: InvoiceLine[];
}

@ObjectType({ description: 'An invoice and its cursor.' })
export class InvoiceEdge {
  @Field({ description: 'Pass as after to continue past this invoice.' })
  cursor!: string;

  @Field(() => Invoice, { description: 'The invoice.' })
  node!: Invoice;
}

/** `totalCount` ignores the cursor (all the invoices the filter matches). */
@ObjectType({ description: 'A page of invoices.' })
export class InvoiceConnection {
  @Field(() => [InvoiceEdge], { description: 'The invoices of this page.' })
  edges!: InvoiceEdge[];

  @Field(() => PageInfo, { description: 'Where this page sits.' })
  pageInfo!: PageInfo;

  @Field(() => [Invoice], { description: 'The invoices of this page, without cursors.' })
  nodes!: Invoice[];

  @Field(() => Int, { description: 'Invoices matching the filter, across every page.' })
  totalCount!: number | Promise<number>;

  /** Not a GraphQL field: counts lazily (only when `totalCount` is asked for); overrides `totalCount`. */
  loadTotalCount?: () => Promise<number>;
}

/**
 * An invoice's or a line's Money: what `toMoney` gives, as instances of one class (a read makes ~40
 * of them; an object literal with its own getter and closure each was a visible share of its CPU),
 * `formatted` derived when read and kept. Serialises as `toMoney`'s value does.
 */
class RowMoney implements Money {
  private text: string | undefined = undefined;
  constructor(
    readonly amount: number,
    readonly currency: string,
  ) {}
  get formatted(): string {
    return (this.text ??= formatMoney(this.amount, this.currency));
  }
  toJSON(): Money {
    return { amount: this.amount, currency: this.currency, formatted: this.formatted };
  }
}

/**
 * Money of a row's amount. A row read for one selection (src/graphql/loaders/customer-read-plan.ts)
 * lacks the amounts the selection does not ask for: no Money is made of those, and none is read.
 */
function moneyOf(amount: number | undefined, currency: string): Money {
  if (amount === undefined) return undefined as unknown as Money;
  if (!Number.isSafeInteger(amount)) throw new RangeError(`amount must be an integer in minor units, got ${amount}`);
  return new RowMoney(amount, currency.toLowerCase());
}

export function toInvoiceLine(row: InvoiceLineView): InvoiceLine {
  return Object.assign(new InvoiceLine(), {
    id: row.id,
    invoiceId: row.invoiceId,
    description: row.description ?? null,
    amount: moneyOf(row.amount, row.currency),
    quantity: row.quantity ?? null,
    periodStart: row.periodStart ?? null,
    periodEnd: row.periodEnd ?? null,
    proration: row.proration ?? false,
  });
}

/** The GraphQL node of an invoice (a mirror row, or a preview mapped the same way). */
export function toInvoice(row: InvoiceView): Invoice {
  const m = (amount: number | undefined) => moneyOf(amount, row.currency);
  return Object.assign(new Invoice(), {
    id: row.id,
    number: row.number ?? null,
    status: row.status as InvoiceStatus,
    subtotal: m(row.subtotal ?? row.total),
    total: m(row.total),
    amountDue: m(row.amountDue),
    amountPaid: m(row.amountPaid),
    attemptCount: row.attemptCount ?? 0,
    createdAt: row.createdAt,
    periodStart: row.periodStart ?? null,
    periodEnd: row.periodEnd ?? null,
    dueDate: row.dueDate ?? null,
    paidAt: row.paidAt ?? null,
    hostedInvoiceUrl: row.hostedInvoiceUrl ?? null,
    pdfUrl: row.invoicePdf ?? null,
    billingReason: row.billingReason ?? null,
    customerId: row.customerId,
    subscriptionId: row.subscriptionId ?? null,
  });
}

/** The GraphQL node of an invoice that is not stored (an upcoming invoice preview), its lines inline. */
export function toUnstoredInvoice({ invoice, lines }: UnstoredInvoice): Invoice {
  return Object.assign(toInvoice(invoice), { inlineLines: lines.map(toInvoiceLine) });
}
