/**
 * `metrics revenue` as text: one row per point with its figures and a bar of its MRR (eighth-block
 * characters, so small differences still show in a narrow column). Pure, so it is tested without a
 * database.
 */
import type { RevenuePointData } from '../billing/metrics/revenue.js';
import { formatMoney } from '../money.js';
import { signedMoney } from '../billing/signals/messages.js';

const BAR_WIDTH = 20;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `value / max` × `width` cells, in eighths of a cell ('' for zero or less). */
export function bar(value: number, max: number, width = BAR_WIDTH): string {
  if (value <= 0 || max <= 0) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

const percent = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);

/** The label of a period: `2026-03` for months, the start date otherwise. */
const label = (p: RevenuePointData, monthly: boolean) => p.periodStart.toISOString().slice(0, monthly ? 7 : 10);

export function formatRevenueTable(points: readonly RevenuePointData[], interval: 'DAY' | 'WEEK' | 'MONTH'): string[] {
  if (points.length === 0) return ['No revenue history in this range.'];
  const head = ['period', 'cur', 'MRR', 'new', 'expansion', 'contraction', 'churned', 'reactivation', 'net new', 'customers', 'churn', 'NRR', ''];
  const maxByCurrency = new Map<string, number>();
  for (const p of points) maxByCurrency.set(p.currency, Math.max(maxByCurrency.get(p.currency) ?? 0, p.mrr));
  const rows = points.map((p) => {
    const m = (amount: number) => formatMoney(amount, p.currency);
    return [
      label(p, interval === 'MONTH'),
      p.currency,
      m(p.mrr),
      m(p.newMrr),
      m(p.expansionMrr),
      m(p.contractionMrr),
      m(p.churnedMrr),
      m(p.reactivationMrr),
      signedMoney(p.netNewMrr, p.currency),
      String(p.customers),
      percent(p.customerChurnRate),
      percent(p.netRevenueRetention),
      bar(p.mrr, maxByCurrency.get(p.currency) ?? 0),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Text left-aligned (period, currency, bar), figures right-aligned.
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 2 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}
