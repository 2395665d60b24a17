import type { AccessState, DashboardCustomerQuery } from '../gql/graphql';
import { request, type ApiError } from '../lib/api';
import { ApiKeyTable, Card, Empty, ErrorBox, InvoicesAndUsage, Kpi, Loading, StatusBadge, Table, formatDate, useQuery } from '../lib/ui';
import { CustomerQuery } from './queries';

/** Dunning runs GRACE → SOFT_SUSPENDED → SUSPENDED after a failed payment. */
const DUNNING_STEPS: Partial<Record<AccessState, string>> = {
  GRACE: 'step 1 of 3: grace period, access continues',
  SOFT_SUSPENDED: 'step 2 of 3: paid usage denied',
  SUSPENDED: 'step 3 of 3: suspended',
};

export function CustomerPage({ token, id, onAuthError }: { token: string; id: string; onAuthError: (e: ApiError) => void }) {
  const { result, reload } = useQuery(() => request(token, CustomerQuery, { id }).then((d) => d.customer), [token, id], onAuthError);
  return (
    <>
      <p>
        <a href="#/customers">← All customers</a>
      </p>
      {result.state === 'loading' && (
        <>
          <h1 tabIndex={-1}>Customer</h1>
          <Loading lines={10} />
        </>
      )}
      {result.state === 'error' && (
        <>
          <h1 tabIndex={-1}>Customer</h1>
          <ErrorBox error={result.error} retry={reload} />
        </>
      )}
      {result.state === 'ok' && !result.data && (
        <>
          <h1 tabIndex={-1}>Customer</h1>
          <Empty>No customer {id}.</Empty>
        </>
      )}
      {result.state === 'ok' && result.data && <CustomerDetail c={result.data} />}
    </>
  );
}

type C = NonNullable<DashboardCustomerQuery['customer']>;

function CustomerDetail({ c }: { c: C }) {
  const dunning = DUNNING_STEPS[c.accessState];
  return (
    <>
      <h1 tabIndex={-1}>{c.name || c.email || c.externalId || c.id}</h1>
      <div className="grid">
        <Kpi label="MRR" value={c.mrr.formatted} testId="customer-mrr" sub={<span className="mono">{c.id}</span>} />
        <Kpi label="Access" value={<StatusBadge value={c.accessState} />} sub={dunning ? `Dunning ${dunning}` : 'not in dunning'} />
        <Kpi
          label="External id"
          value={<span className="mono" style={{ fontSize: '1rem' }}>{c.externalId || '—'}</span>}
          sub={`${c.email ?? 'no email'} · since ${formatDate(c.createdAt)}`}
        />
      </div>

      <Card id="subs" title="Subscriptions">
        {c.subscriptions.length === 0 ? (
          <Empty>No subscriptions.</Empty>
        ) : (
          <Table columns={['Plan', 'Status', { label: 'Seats', num: true }, 'Current period', { label: 'MRR', num: true }]}>
            {c.subscriptions.map((s) => (
              <tr key={s.id}>
                <td>
                  {s.plan.name}
                  <div className="muted mono">{s.id}</div>
                </td>
                <td>
                  <StatusBadge value={s.status} />
                  {s.cancelAtPeriodEnd && <div className="muted">cancels at period end</div>}
                  {s.latestInvoice && s.latestInvoice.attemptCount > 1 && <div className="muted">{s.latestInvoice.attemptCount} payment attempts</div>}
                </td>
                <td className="num">{s.quantity}</td>
                <td>
                  {formatDate(s.currentPeriodStart)} – {formatDate(s.currentPeriodEnd)}
                </td>
                <td className="num">{s.mrr.formatted}</td>
              </tr>
            ))}
          </Table>
        )}
      </Card>

      <InvoicesAndUsage invoices={c.invoices.edges.map((e) => e.node)} usage={c.usage}>
        <h3>Entitlements</h3>
        {c.entitlements.length === 0 ? (
          <Empty>None.</Empty>
        ) : (
          <ul>
            {c.entitlements.map((e) => (
              <li key={e.feature}>
                {e.feature}: {e.allowed ? 'allowed' : 'denied'} <span className="muted">({e.reason.replace(/_/g, ' ').toLowerCase()})</span>
              </li>
            ))}
          </ul>
        )}
      </InvoicesAndUsage>

      <Card id="keys" title="API keys">
        <ApiKeyList keys={c.apiKeys} />
      </Card>
    </>
  );
}

/** Read-only: the customer manages its keys on /billing. Verification counts come from the API, by outcome. */
function ApiKeyList({ keys }: { keys: C['apiKeys'] }) {
  if (keys.length === 0) return <Empty>No API keys.</Empty>;
  return (
    <ApiKeyTable
      keys={keys}
      rowTestId="customer-api-key"
      extra={{
        header: 'Verifications',
        cell: (k) => (
          <span data-testid="customer-api-key-verifications">
            {k.verifications.length === 0 ? 'none' : k.verifications.map((v) => `${v.code.replace(/_/g, ' ').toLowerCase()} ${v.count.toLocaleString()}`).join(' · ')}
          </span>
        ),
      }}
    />
  );
}
