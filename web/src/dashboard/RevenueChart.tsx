import { BarController, BarElement, CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';
import { useEffect, useRef, useState } from 'react';
import type { DashboardRevenueQuery } from '../gql/graphql';
import { request, type ApiError } from '../lib/api';
import { Empty, ErrorBox, Loading, useQuery } from '../lib/ui';
import { drawChart } from './chart';
import { RevenueQuery } from './queries';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);

type Point = NonNullable<DashboardRevenueQuery['revenue']>[number];
type Amount = { amount: number; formatted: string };

/** The last 12 months, this one included: from the first of the month 11 months ago (UTC) to now. */
export function last12Months(now = new Date()): { from: string; to: string } {
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1));
  return { from: from.toISOString(), to: now.toISOString() };
}

const month = (iso: string) => new Date(iso).toLocaleDateString(undefined, { month: 'short', year: '2-digit', timeZone: 'UTC' });

// Movements as stacked bars (contraction and churn below zero), MRR as a line over them.
const MOVEMENTS: { key: 'newMrr' | 'expansionMrr' | 'reactivationMrr' | 'contractionMrr' | 'churnedMrr'; label: string; color: string; sign: 1 | -1 }[] = [
  { key: 'newMrr', label: 'New', color: '#0f7b6c', sign: 1 },
  { key: 'expansionMrr', label: 'Expansion', color: '#3b8f3b', sign: 1 },
  { key: 'reactivationMrr', label: 'Reactivation', color: '#6b5bd2', sign: 1 },
  { key: 'contractionMrr', label: 'Contraction', color: '#9a5b00', sign: -1 },
  { key: 'churnedMrr', label: 'Churn', color: '#b42318', sign: -1 },
];

/**
 * MRR movement per month from the `revenue` query, one currency at a time. Heights are minor units;
 * every figure the user reads (tooltip, table) is the API's `Money.formatted`. `refresh` changing
 * (a new MRR report) refetches.
 */
export function RevenueChart({ token, onAuthError, refresh }: { token: string; onAuthError: (e: ApiError) => void; refresh: unknown }) {
  const { result, reload } = useQuery(() => request(token, RevenueQuery, last12Months()).then((d) => d.revenue ?? []), [token], onAuthError);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) return void (first.current = false);
    reload();
  }, [refresh]);
  const [picked, setPicked] = useState<string | null>(null);

  if (result.state === 'loading') return <Loading label="Loading revenue…" lines={12} />;
  if (result.state === 'error') return <ErrorBox error={result.error} retry={reload} />;
  const currencies = [...new Set(result.data.map((p) => p.currency))];
  if (currencies.length === 0) return <Empty>No revenue yet.</Empty>;
  const currency = picked && currencies.includes(picked) ? picked : currencies[0]!;
  const points = result.data.filter((p) => p.currency === currency);
  return (
    <>
      {currencies.length > 1 && (
        <p className="row">
          <label htmlFor="revenue-currency">Currency</label>
          <select id="revenue-currency" data-testid="revenue-currency" value={currency} onChange={(e) => setPicked(e.target.value)}>
            {currencies.map((c) => (
              <option key={c} value={c}>
                {c.toUpperCase()}
              </option>
            ))}
          </select>
        </p>
      )}
      <MovementChart points={points} />
      <CurrentPoint point={points[points.length - 1]!} />
    </>
  );
}

function MovementChart({ points }: { points: Point[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);
  const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() || '#3b3fc7';
  useEffect(() => {
    if (!canvas.current) return;
    const bars = MOVEMENTS.map((m) => ({
      type: 'bar' as const,
      label: m.label,
      data: points.map((p) => m.sign * p[m.key].amount),
      formatted: points.map((p) => (m.sign < 0 && p[m.key].amount > 0 ? '−' : '') + p[m.key].formatted),
      backgroundColor: m.color,
      stack: 'movements',
      order: 2,
    }));
    const line = {
      type: 'line' as const,
      label: 'MRR',
      data: points.map((p) => p.mrr.amount),
      formatted: points.map((p) => p.mrr.formatted),
      borderColor: accent,
      backgroundColor: accent,
      order: 1,
    };
    // A mixed chart: Chart.js types a bar chart's datasets as bars, so the line is cast in.
    drawChart(chart, canvas.current, 'bar', { labels: points.map((p) => month(p.periodStart)), datasets: [line as unknown as (typeof bars)[number], ...bars] }, {
      scales: { x: { stacked: true }, y: { stacked: true, ticks: { display: false } } },
    });
  }, [points]);
  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );
  const last = points[points.length - 1]!;
  return (
    <div className="chart-box">
      <canvas ref={canvas} role="img" aria-label={`MRR by month, ${points.length} months, now ${last.mrr.formatted}; details in the table below`} />
    </div>
  );
}

function CurrentPoint({ point }: { point: Point }) {
  const rows: [string, Amount, string?][] = [
    ['MRR', point.mrr, 'revenue-mrr'],
    ['New', point.newMrr, 'revenue-new'],
    ['Expansion', point.expansionMrr, 'revenue-expansion'],
    ['Reactivation', point.reactivationMrr, 'revenue-reactivation'],
    ['Contraction', point.contractionMrr, 'revenue-contraction'],
    ['Churn', point.churnedMrr, 'revenue-churn'],
    ['Net new', point.netNewMrr, 'revenue-net-new'],
  ];
  return (
    <table data-testid="revenue-current">
      <caption className="muted" style={{ textAlign: 'left', captionSide: 'top' }}>
        This month ({month(point.periodStart)}, {point.currency.toUpperCase()})
      </caption>
      <tbody>
        {rows.map(([label, m, id]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td className="num" data-testid={id}>
              {m.formatted}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
