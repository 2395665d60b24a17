import { Chart, type ChartData, type ChartOptions, type ChartType, type TooltipItem } from 'chart.js';

/** Tooltips read each dataset's `formatted` labels: the API's `Money.formatted`, never a figure formatted here. */
const formattedLabel = (ctx: TooltipItem<ChartType>) => `${ctx.dataset.label}: ${(ctx.dataset as unknown as { formatted: string[] }).formatted[ctx.dataIndex]}`;

/** Draws the chart the first time, then swaps its data in place without animation (a refetch must not replay it). */
export function drawChart<T extends ChartType>(holder: { current: Chart<T> | null }, canvas: HTMLCanvasElement, type: T, data: ChartData<T>, options: ChartOptions<T>): void {
  if (holder.current) {
    holder.current.data = data;
    holder.current.update('none');
    return;
  }
  const plugins = { tooltip: { callbacks: { label: formattedLabel } }, ...options?.plugins };
  holder.current = new Chart<T>(canvas, { type, data, options: { responsive: true, maintainAspectRatio: false, animation: false, ...options, plugins } as ChartOptions<T> });
}
