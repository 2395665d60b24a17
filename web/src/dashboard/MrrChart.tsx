import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'react';
import { drawChart } from './chart';
import type { MrrFieldsFragment } from '../gql/graphql';
import { Empty, Table } from '../lib/ui';

// Only the pieces used: Chart.js is tree-shakable when registered by hand.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

/**
 * MRR per plan, one dataset per currency. Bar heights are minor units; every label the user reads
 * (tooltip, table) is the API's `Money.formatted`.
 */
export function MrrChart({ report }: { report: MrrFieldsFragment }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);
  const rows = report.byPlan.filter((p) => p.subscriptions > 0 || p.mrr.amount > 0);
  const plans = [...new Set(rows.map((r) => r.plan.name))];
  const currencies = [...new Set(rows.map((r) => r.mrr.currency))];
  const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() || '#3b3fc7';
  const palette = [accent, '#0f7b6c', '#9a5b00', '#b42318'];

  useEffect(() => {
    if (!canvas.current || rows.length === 0) return;
    const datasets = currencies.map((cur, i) => {
      const cells = plans.map((name) => rows.find((r) => r.plan.name === name && r.mrr.currency === cur));
      return {
        label: cur.toUpperCase(),
        data: cells.map((c) => c?.mrr.amount ?? 0),
        formatted: cells.map((c) => c?.mrr.formatted ?? '—'),
        backgroundColor: palette[i % palette.length],
      };
    });
    drawChart(chart, canvas.current, 'bar', { labels: plans, datasets }, {
      datasets: { bar: { maxBarThickness: 72 } },
      scales: { y: { beginAtZero: true, ticks: { display: false } } },
      plugins: { legend: { display: currencies.length > 1 } },
    });
  }, [report]);
  useEffect(() => () => chart.current?.destroy(), []);

  if (rows.length === 0) return <Empty>No subscriptions count toward MRR yet.</Empty>;
  return (
    <>
      <div className="chart-box">
        <canvas ref={canvas} role="img" aria-label={`MRR by plan: ${rows.map((r) => `${r.plan.name} ${r.mrr.formatted}`).join(', ')}`} />
      </div>
      <Table columns={['Plan', { label: 'Subscriptions', num: true }, { label: 'MRR', num: true }]} caption="MRR by plan">
        {rows.map((r) => (
          <tr key={`${r.plan.id}-${r.mrr.currency}`}>
            <td>{r.plan.name}</td>
            <td className="num">{r.subscriptions}</td>
            <td className="num">{r.mrr.formatted}</td>
          </tr>
        ))}
      </Table>
    </>
  );
}
