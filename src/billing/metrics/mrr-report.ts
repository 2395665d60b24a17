/**
 * The MRR report (`MrrReport` in schema.graphql): totals per currency largest first, the number of
 * subscriptions that count, MRR per catalog plan, and this month's new, churned and net new MRR per
 * currency (./mrr-totals.ts defines them). Used by `Query.mrr`, the `mrrUpdated` subscription and the
 * CLI (`metrics mrr`).
 */
import type { EntityManager } from '@mikro-orm/core';
import { formatMoney } from '../../money.js';
import type { AmountPayload, MrrReportPayload } from '../../events/topics.js';
import type { MrrSnapshot } from './mrr-snapshot.js';
import { readMrrTotals } from './mrr-totals.js';
import type { CurrencyMovement, MrrMovements } from './revenue.js';

const amounts = (list: CurrencyMovement[]): AmountPayload[] => list.map((m) => ({ amount: m.amount, currency: m.currency }));

/** JSON form of a snapshot (what the bus carries and the resolvers read), with the month's movements when known. */
export function mrrReportOf(snapshot: MrrSnapshot, movements?: MrrMovements): MrrReportPayload {
  return {
    asOf: snapshot.asOf.toISOString(),
    totals: snapshot.currencies.map((c) => ({ amount: c.amount, currency: c.currency })),
    activeSubscriptions: snapshot.activeSubscriptions,
    byPlan: snapshot.byPlan.map((p) => ({ planId: p.planId, amount: p.amount, currency: p.currency, subscriptions: p.subscriptions })),
    ...(movements
      ? {
          newThisMonth: amounts(movements.newThisMonth),
          churnedThisMonth: amounts(movements.churnedThisMonth),
          netNewThisMonth: amounts(movements.netNewThisMonth),
        }
      : {}),
  };
}

export async function mrrReport(em: EntityManager): Promise<MrrReportPayload> {
  const { snapshot, movements } = await readMrrTotals(em);
  return mrrReportOf(snapshot, movements);
}

/** One line for the CLI, e.g. `MRR: $4,523.00 (4,523 active subscriptions)`; several currencies are joined with " + ". */
export function formatMrrLine(report: Pick<MrrReportPayload, 'totals' | 'activeSubscriptions'>): string {
  const totals = report.totals.length ? report.totals.map((t) => formatMoney(t.amount, t.currency)).join(' + ') : formatMoney(0, 'usd');
  const n = report.activeSubscriptions;
  return `MRR: ${totals} (${n.toLocaleString('en-US')} active subscription${n === 1 ? '' : 's'})`;
}

/** The service behind `Query.mrr` (per request). */
export class MrrReportService {
  constructor(private readonly em: EntityManager) {}

  report(): Promise<MrrReportPayload> {
    return mrrReport(this.em);
  }
}
