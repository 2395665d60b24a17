import type { Command } from 'commander';
import type { Customer } from '../../db/entities/customer.js';
import type { Subscription } from '../../db/entities/subscription.js';
import { commandGroup, CliError, intOption, printJson, printLines, type CliContext } from '../common.js';

interface ListOptions {
  email?: string;
  first?: number;
  after?: string;
  json?: boolean;
}

interface GetOptions {
  json?: boolean;
}

export function customerJson(c: Omit<Customer, 'raw'>) {
  return {
    id: c.id,
    externalId: c.externalId ?? null,
    email: c.email ?? null,
    name: c.name ?? null,
    testClock: c.testClock ?? null,
    createdAt: c.createdAt.toISOString(),
  };
}

export async function subscriptionJson(s: Subscription) {
  const [{ toMoney }, { MRR_STATUSES }] = await Promise.all([import('../../money.js'), import('../../billing/subscriptions/queries/subscription-mrr.js')]);
  // Only ACTIVE and PAST_DUE subscriptions bring MRR (the MRR rules); the mirror keeps the amount of the others.
  const mrr = MRR_STATUSES.includes(s.status) ? (s.mrrAmount ?? null) : 0;
  return {
    id: s.id,
    customerId: s.customerId,
    status: s.status,
    plan: s.planId ?? null,
    quantity: s.quantity ?? null,
    currency: s.currency,
    mrr: mrr === null ? null : toMoney(mrr, s.currency),
    currentPeriodEnd: s.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    trialEnd: s.trialEnd?.toISOString() ?? null,
    createdAt: s.createdAt.toISOString(),
  };
}

/** `sub_…  active  pro_monthly ×3  MRR $15.00  renews 2026-12-22` */
export function subscriptionLine(s: Awaited<ReturnType<typeof subscriptionJson>>): string {
  const plan = `${s.plan ?? '(no catalog plan)'}${s.quantity && s.quantity > 1 ? ` ×${s.quantity}` : ''}`;
  const ended = s.status === 'canceled' || s.status === 'incomplete_expired';
  const end = s.currentPeriodEnd && !ended ? `${s.cancelAtPeriodEnd ? 'ends' : 'renews'} ${s.currentPeriodEnd.slice(0, 10)}` : '';
  return [s.id, s.status, plan, s.mrr && s.mrr.amount > 0 ? `MRR ${s.mrr.formatted}` : '', end].filter(Boolean).join('  ');
}

const column = (rows: string[][]): string[] => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
};

export function registerCustomers(program: Command, ctx: CliContext): void {
  const customers = commandGroup(program, 'customers', 'Read mirrored customers (from the database, like the customers query).')
    .addHelpText(
      'after',
      '\nReads DATABASE_URL, or the embedded PGlite under DATA_DIR (which a running sandbox gateway holds: stop it,\nor run both with DATABASE_URL).',
    );

  customers
    .command('list')
    .description('List customers, newest first, a page at a time.')
    .option('--email <email>', 'only customers with this exact email')
    .option('--first <n>', 'page size, 1-100 (default 20)', intOption(1, 100))
    .option('--after <cursor>', 'the page after this cursor (printed with the previous page)')
    .option('--json', 'print { totalCount, hasNextPage, endCursor, customers } as JSON')
    .action(async (opts: ListOptions) => {
      const [{ cliConfig }, { withDatabase }, { CustomerService, createCustomerLoaders }] = await Promise.all([
        import('../config.js'),
        import('../gateway.js'),
        import('../../billing/customers/customer-service.js'),
      ]);
      const page = await withDatabase(cliConfig(), (em) =>
        new CustomerService(em, createCustomerLoaders(em)).list({ first: opts.first, after: opts.after, email: opts.email }),
      );
      const list = page.edges.map((e) => customerJson(e.node));
      if (opts.json) {
        printJson({ totalCount: page.totalCount, hasNextPage: page.hasNextPage, endCursor: page.endCursor, customers: list });
      } else if (list.length === 0) {
        printLines(opts.after ? 'No more customers.' : 'No customers.');
      } else {
        const rows = [['ID', 'EXTERNAL ID', 'EMAIL', 'CREATED'], ...list.map((c) => [c.id, c.externalId ?? '-', c.email ?? '-', c.createdAt])];
        printLines(...column(rows));
        printLines(`${list.length} of ${page.totalCount} customer${page.totalCount === 1 ? '' : 's'}${page.hasNextPage ? `; next page: --after ${page.endCursor}` : ''}`);
      }
      ctx.outcome = 0;
    });

  customers
    .command('get')
    .description('Show one customer and its subscriptions.')
    .argument('<id>', 'a Stripe customer id (cus_…) or your externalId (the token `sub`)')
    .option('--json', 'print the customer with its subscriptions as JSON')
    .action(async (id: string, opts: GetOptions) => {
      const [{ cliConfig }, { withDatabase }, { CustomerService, createCustomerLoaders }, { parseCustomerRef }, { SubscriptionQueries }, { createBillingLoaders }] =
        await Promise.all([
          import('../config.js'),
          import('../gateway.js'),
          import('../../billing/customers/customer-service.js'),
          import('../../auth/guard.js'),
          import('../../billing/subscriptions/queries/subscription-queries.js'),
          import('../../graphql/loaders/billing-loaders.js'),
        ]);
      const found = await withDatabase(cliConfig(), async (em) => {
        const customer = await new CustomerService(em, createCustomerLoaders(em)).find(parseCustomerRef(id));
        if (!customer) return null;
        // The request's loaders, as a GraphQL query would read them.
        const subscriptionQueries = new SubscriptionQueries(em, createBillingLoaders(em));
        const subscriptions = await Promise.all((await subscriptionQueries.forCustomer(customer.id)).map(subscriptionJson));
        return { ...customerJson(customer), subscriptions };
      });
      if (!found) throw new CliError(`customer ${id} not found`);
      if (opts.json) printJson(found);
      else {
        printLines(
          `Customer ${found.id}`,
          ...column([
            ['  external id', found.externalId ?? '-'],
            ['  email', found.email ?? '-'],
            ['  name', found.name ?? '-'],
            ['  created', found.createdAt],
            ...(found.testClock ? [['  test clock', found.testClock]] : []),
          ]),
        );
        if (found.subscriptions.length === 0) printLines('No subscriptions.');
        else printLines('Subscriptions:', ...found.subscriptions.map((s) => `  ${subscriptionLine(s)}`));
      }
      ctx.outcome = 0;
    });
}
