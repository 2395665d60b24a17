/**
 * What one statement must read for `customer(…)` (see src/billing/customers/customer-read.ts), from
 * the operation's selection: whether its subscriptions and a page of its invoices (with lines) are
 * asked for, and which of their columns any field of the operation reads.
 *
 * Columns are the union over the whole operation (every selection on `BillingSubscription`,
 * `Invoice`, `InvoiceLine`, wherever it sits, fragments included), because the rows read here are
 * left in the request's DataLoaders and any resolver of the request may find them there. A field
 * this module does not know (a new one, or one whose resolver reads more of the row, such as
 * `Customer.mrr` or `Customer.usage`) makes the read take every column: unknown means all.
 */
import { getArgumentValues, isObjectType, TypeInfo, visit, visitWithTypeInfo, type FieldNode, type GraphQLResolveInfo, type OperationDefinitionNode } from 'graphql';
import type { CustomerReadColumns, CustomerReadWants } from '../../billing/customers/customer-read.js';
import { invoicePageShape, type InvoiceStatusValue } from '../../billing/invoices/invoice-queries.js';
import type { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import type { Subscription } from '../../db/entities/subscription.js';
import { fieldsNamed, invoicePageWantsLines } from '../selection.js';

type Props<T> = readonly (keyof T & string)[];

/**
 * Columns read whatever the selection: the keys (`customerId` is the customer's own) and the
 * invoices' `createdAt` (their cursors); the node builders leave out what a row lacks.
 */
const SUBSCRIPTION_BASE: Props<Subscription> = ['id', 'customerId'];
const INVOICE_BASE: Props<Invoice> = ['id', 'customerId', 'createdAt', 'currency'];
const LINE_BASE: Props<InvoiceLine> = ['currency'];

/**
 * Per GraphQL field, the row properties its value is built from (`toBillingSubscription`,
 * `toInvoice`, `toInvoiceLine` and the types' field resolvers). `raw` on a subscription stands for
 * its items (what `plan` reads for a price outside the catalog).
 */
const SUBSCRIPTION_FIELDS: Record<string, Props<Subscription>> = {
  __typename: [],
  id: [],
  status: ['status'],
  isActive: ['status'],
  quantity: ['quantity'],
  currentPeriodStart: ['currentPeriodStart', 'createdAt'],
  currentPeriodEnd: ['currentPeriodEnd', 'currentPeriodStart', 'createdAt'],
  cancelAtPeriodEnd: ['cancelAtPeriodEnd'],
  cancelAt: ['cancelAt'],
  canceledAt: ['canceledAt'],
  trialEnd: ['trialEnd'],
  createdAt: ['createdAt'],
  currency: ['currency'],
  plan: ['planId', 'priceId', 'raw'],
  customer: [],
  latestInvoice: ['latestInvoiceId'],
};
const INVOICE_FIELDS: Record<string, Props<Invoice>> = {
  __typename: [],
  id: [],
  number: ['number'],
  status: ['status'],
  subtotal: ['subtotal', 'total'],
  total: ['total'],
  amountDue: ['amountDue'],
  amountPaid: ['amountPaid'],
  attemptCount: ['attemptCount'],
  createdAt: [],
  periodStart: ['periodStart'],
  periodEnd: ['periodEnd'],
  dueDate: ['dueDate'],
  paidAt: ['paidAt'],
  hostedInvoiceUrl: ['hostedInvoiceUrl'],
  pdfUrl: ['invoicePdf'],
  billingReason: ['billingReason'],
  lines: [],
  customer: [],
  subscription: ['subscriptionId'],
};
const LINE_FIELDS: Record<string, Props<InvoiceLine>> = {
  __typename: [],
  description: ['description'],
  amount: ['amount'],
  quantity: ['quantity'],
  periodStart: ['periodStart'],
  periodEnd: ['periodEnd'],
  proration: ['proration'],
};
/** Customer fields that read none of the customer's subscription rows beyond `subscriptions` itself. */
const CUSTOMER_FIELDS_WITHOUT_SUBSCRIPTION_ROWS = new Set(['__typename', 'id', 'externalId', 'email', 'name', 'metadata', 'createdAt', 'subscriptions', 'invoices']);
/** Plan fields a plan outside the catalog answers without its price (`raw`): its id is the row's plan or price id. */
const PLAN_FIELDS_WITHOUT_PRICE = new Set(['__typename', 'id']);

/** The fields selected on each object or interface type anywhere in the operation and its fragments. */
function fieldsByType(info: Pick<GraphQLResolveInfo, 'schema' | 'operation' | 'fragments'>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const typeInfo = new TypeInfo(info.schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    Field(node) {
      const parent = typeInfo.getParentType();
      if (!parent) return;
      let set = out.get(parent.name);
      if (!set) out.set(parent.name, (set = new Set()));
      set.add(node.name.value);
    },
  });
  visit(info.operation, visitor);
  for (const fragment of Object.values(info.fragments)) visit(fragment, visitor);
  return out;
}

function columnsOf<T>(base: Props<T>, fields: Set<string> | undefined, known: Record<string, Props<T>>): (keyof T & string)[] | null {
  const out = new Set(base);
  for (const field of fields ?? []) {
    const props = Object.hasOwn(known, field) ? known[field] : undefined;
    if (!props) return null;
    for (const p of props) out.add(p);
  }
  return [...out];
}

/** The columns the operation reads (null: all); computed once per parsed operation. */
const columnsByOperation = new WeakMap<OperationDefinitionNode, CustomerReadColumns>();

export function customerReadColumns(info: Pick<GraphQLResolveInfo, 'schema' | 'operation' | 'fragments'>): CustomerReadColumns {
  let columns = columnsByOperation.get(info.operation);
  if (columns) return columns;
  const fields = fieldsByType(info);
  const customerFields = fields.get('Customer') ?? new Set<string>();
  const subscriptionRowsElsewhere = [...customerFields].some((f) => !CUSTOMER_FIELDS_WITHOUT_SUBSCRIPTION_ROWS.has(f));
  let subscriptions = subscriptionRowsElsewhere ? null : columnsOf(SUBSCRIPTION_BASE, fields.get('BillingSubscription'), SUBSCRIPTION_FIELDS);
  let subscriptionItems: CustomerReadColumns['subscriptionItems'] = 'always';
  if (subscriptions) {
    if (!subscriptions.includes('raw')) subscriptionItems = 'never';
    else if ([...(fields.get('Plan') ?? [])].every((f) => PLAN_FIELDS_WITHOUT_PRICE.has(f))) subscriptionItems = 'withoutPlan';
    subscriptions = subscriptions.filter((p) => p !== 'raw');
  }
  columns = {
    subscriptions,
    subscriptionItems,
    invoices: columnsOf(INVOICE_BASE, fields.get('Invoice'), INVOICE_FIELDS),
    lines: columnsOf(LINE_BASE, fields.get('InvoiceLine'), LINE_FIELDS),
  };
  columnsByOperation.set(info.operation, columns);
  return columns;
}

/** Of the selection under `customer`: whether it reads the subscriptions, and its first `invoices` field. */
interface CustomerSelection {
  subscriptions: boolean;
  invoices: { node: FieldNode; withLines: boolean } | null;
}
const selections = new WeakMap<FieldNode, CustomerSelection>();

function customerSelection(info: GraphQLResolveInfo): CustomerSelection {
  const key = info.fieldNodes[0]!;
  let found = selections.get(key);
  if (found) return found;
  found = { subscriptions: false, invoices: null };
  for (const node of info.fieldNodes) {
    // `mrr` reads the customer's subscriptions too.
    if (fieldsNamed(node.selectionSet, info.fragments, 'subscriptions').length > 0 || fieldsNamed(node.selectionSet, info.fragments, 'mrr').length > 0) {
      found.subscriptions = true;
    }
    const [invoices] = fieldsNamed(node.selectionSet, info.fragments, 'invoices');
    if (invoices && !found.invoices) found.invoices = { node: invoices, withLines: invoicePageWantsLines({ fieldNodes: [invoices], fragments: info.fragments }) };
  }
  selections.set(key, found);
  return found;
}

/**
 * What the selection under `customer` reads besides the customer: its subscriptions (`subscriptions`,
 * `mrr`), and the page of its (first) `invoices` field, so one statement answers them all. An
 * `invoices` whose arguments are invalid is left to its field resolver, which reports them. The
 * selection's shape is worked out once per parsed operation; the arguments, per request.
 */
export function customerReadWants(info: GraphQLResolveInfo): CustomerReadWants {
  const type = info.schema.getType('Customer');
  if (!isObjectType(type)) return { subscriptions: false, invoices: null };
  const selection = customerSelection(info);
  const wants: CustomerReadWants = { subscriptions: selection.subscriptions, invoices: null, columns: customerReadColumns(info) };
  if (selection.invoices) {
    try {
      const args = getArgumentValues(type.getFields().invoices!, selection.invoices.node, info.variableValues) as { first?: number | null; after?: string | null; status?: InvoiceStatusValue | null };
      wants.invoices = invoicePageShape({ ...args, withLines: selection.invoices.withLines });
    } catch {
      // The field resolver reports bad arguments.
    }
  }
  return wants;
}
