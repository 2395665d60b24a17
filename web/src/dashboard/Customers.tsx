import { useState, type FormEvent } from 'react';
import { present, request, type ApiError } from '../lib/api';
import { Empty, ErrorBox, Loading, StatusBadge, Table, formatDate, useQuery } from '../lib/ui';
import { CustomersQuery } from './queries';

const PAGE = 20;

/** Customers, newest first; search is the API's exact-email filter; paging keeps the cursors seen so far. */
export function Customers({ token, onAuthError }: { token: string; onAuthError: (e: ApiError) => void }) {
  const [search, setSearch] = useState('');
  const [email, setEmail] = useState<string | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const { result, reload } = useQuery(() => request(token, CustomersQuery, { first: PAGE, after, email }).then((d) => present(d.customers, 'customers')), [token, after, email], onAuthError);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setEmail(search.trim() || null);
    setCursors([null]);
  };
  const page = cursors.length;
  return (
    <>
      <h1 tabIndex={-1}>Customers</h1>
      <form className="row" role="search" onSubmit={submit} style={{ marginBottom: '1rem' }}>
        <label htmlFor="customer-search">Email</label>
        <input id="customer-search" type="search" data-testid="customer-search" placeholder="someone@example.com" value={search} onChange={(e) => setSearch(e.target.value)} />
        <button type="submit">Search</button>
        {email && (
          <button
            type="button"
            onClick={() => {
              setSearch('');
              setEmail(null);
              setCursors([null]);
            }}
          >
            Clear
          </button>
        )}
      </form>
      <section className="card">
        {result.state === 'loading' && <Loading lines={8} />}
        {result.state === 'error' && <ErrorBox error={result.error} retry={reload} />}
        {result.state === 'ok' && (
          <>
            <p className="muted" role="status">
              {result.data.totalCount.toLocaleString()} customer{result.data.totalCount === 1 ? '' : 's'}
              {email ? ` with email ${email}` : ''} · page {page}
            </p>
            {result.data.edges.length === 0 ? (
              <Empty>{email ? 'No customer has this email.' : 'No customers yet. They appear on their first subscribe.'}</Empty>
            ) : (
              <Table columns={['Customer', 'Email', 'Plan', 'Access', { label: 'MRR', num: true }, 'Since']}>
                {result.data.edges.map(({ node: c }) => (
                  <tr key={c.id} data-testid="customer-row">
                    <td>
                      <a href={`#/customers/${encodeURIComponent(c.id)}`}>{c.name || c.externalId || c.id}</a>
                      <div className="muted mono">{c.id}</div>
                    </td>
                    <td>{c.email ?? '—'}</td>
                    <td>{c.subscriptions.map((s) => s.plan.name).join(', ') || '—'}</td>
                    <td>
                      <StatusBadge value={c.accessState} />
                    </td>
                    <td className="num">{c.mrr.formatted}</td>
                    <td>{formatDate(c.createdAt)}</td>
                  </tr>
                ))}
              </Table>
            )}
            <nav className="row" aria-label="Pages" style={{ marginTop: '0.75rem' }}>
              <button type="button" disabled={page === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Previous
              </button>
              <button type="button" disabled={!result.data.pageInfo.hasNextPage} onClick={() => setCursors((c) => [...c, result.data.pageInfo.endCursor ?? null])}>
                Next
              </button>
            </nav>
          </>
        )}
      </section>
    </>
  );
}
