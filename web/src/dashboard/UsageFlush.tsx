import { useEffect } from 'react';
import { request, type ApiError } from '../lib/api';
import { ErrorBox, formatTime, Kpi, useQuery } from '../lib/ui';
import { UsageFlushQuery } from './queries';

/** Whole seconds: the lag the API answers, rounded for reading. */
export const formatLag = (seconds: number) => `${Math.round(seconds).toLocaleString()} s`;

// The backlog has no live feed of its own: a light poll keeps the card current.
const REFRESH_MS = 15_000;

/** Usage recorded but not yet sent to Stripe as meter events: backlog, lag and parked rows. */
export function UsageFlushCard({ token, onAuthError }: { token: string; onAuthError: (e: ApiError) => void }) {
  const { result, reload } = useQuery(() => request(token, UsageFlushQuery).then((d) => d.usageFlush), [token], onAuthError);
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  if (result.state === 'error') return <ErrorBox error={result.error} retry={reload} />;
  const status = result.state === 'ok' ? result.data : null;
  const empty = status !== null && status.backlog === 0 && status.parked === 0;
  return (
    <Kpi
      label="Usage to send"
      testId="usage-backlog"
      value={status ? status.backlog.toLocaleString() : '…'}
      sub={
        status ? (
          <>
            {empty ? 'all sent · ' : ''}lag <span data-testid="usage-lag">{formatLag(status.lagSeconds)}</span>
            {status.oldestUnsentAt ? ` (since ${formatTime(status.oldestUnsentAt)})` : ''} · parked <span data-testid="usage-parked">{status.parked.toLocaleString()}</span>
          </>
        ) : (
          'records waiting for Stripe'
        )
      }
    />
  );
}
