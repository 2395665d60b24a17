import { useEffect, useRef } from 'react';
import type { MrrFieldsFragment } from '../gql/graphql';
import { request, type ApiError } from '../lib/api';
import { Card, ErrorBox, Kpi, Loading, useQuery } from '../lib/ui';
import { EventFeed } from './EventFeed';
import { useLive } from './live';
import { MrrChart } from './MrrChart';
import { OverviewQuery } from './queries';
import { RevenueChart } from './RevenueChart';
import { UsageFlushCard } from './UsageFlush';

type Money = { formatted: string };
const list = (m: Money[]) => (m.length ? m.map((x) => x.formatted).join(' · ') : '$0.00');

export function Overview({ token, onAuthError }: { token: string; onAuthError: (e: ApiError) => void }) {
  const live = useLive();
  const { result, reload } = useQuery(() => request(token, OverviewQuery).then((d) => d.mrr), [token], onAuthError);

  // The live report wins once one arrives; a subscription change also refetches, in case a report was missed.
  const lastEvent = live.events[0];
  const refetchTimer = useRef<number>(undefined);
  useEffect(() => {
    if (!lastEvent || !/^SUBSCRIPTION_|^MRR_/.test(lastEvent.type)) return;
    clearTimeout(refetchTimer.current);
    refetchTimer.current = window.setTimeout(reload, 300);
  }, [lastEvent?.id]);
  const fetched = result.state === 'ok' ? result.data : null;
  const report: MrrFieldsFragment | null = live.mrr && fetched ? (live.mrr.asOf >= fetched.asOf ? live.mrr : fetched) : (live.mrr ?? fetched);

  return (
    <>
      <h1 tabIndex={-1}>Overview</h1>
      {result.state === 'error' && !report ? (
        <ErrorBox error={result.error} retry={reload} />
      ) : (
        <section aria-labelledby="kpi-heading">
          <h2 id="kpi-heading" className="visually-hidden">
            Key figures
          </h2>
          <div className="grid">
            <Kpi
              label="MRR"
              testId="mrr-total"
              value={report ? (report.totals[0]?.formatted ?? '$0.00') : '…'}
              sub={report && report.totals.length > 1 ? `also ${list(report.totals.slice(1))}` : 'per currency'}
            />
            <Kpi label="Active subscriptions" testId="active-subscriptions" value={report ? report.activeSubscriptions.toLocaleString() : '…'} sub="active and past due" />
            <Kpi label="New this month" testId="mrr-new" value={report ? list(report.newThisMonth) : '…'} sub="MRR that started counting" />
            <Kpi label="Churned this month" testId="mrr-churned" value={report ? list(report.churnedThisMonth) : '…'} sub={`net new ${report ? list(report.netNewThisMonth) : '…'}`} />
            <UsageFlushCard token={token} onAuthError={onAuthError} />
          </div>
        </section>
      )}
      <div className="two-col">
        <Card id="revenue" title="MRR movement, last 12 months">
          <RevenueChart token={token} onAuthError={onAuthError} refresh={report?.asOf} />
        </Card>
        <EventFeed />
      </div>
      <Card id="chart" title="MRR by plan">
        {report ? <MrrChart report={report} /> : <Loading lines={8} />}
      </Card>
    </>
  );
}
