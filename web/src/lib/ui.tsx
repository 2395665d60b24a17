import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api';

/** Loading placeholder that keeps its box's height, so content does not jump when it arrives. */
export function Loading({ label = 'Loading…', lines = 3 }: { label?: string; lines?: number }) {
  return (
    <div className="loading" role="status" aria-live="polite" style={{ minHeight: `${lines * 1.75}rem` }}>
      <span className="visually-hidden">{label}</span>
      {Array.from({ length: lines }, (_, i) => (
        <span key={i} className="skeleton" aria-hidden="true" />
      ))}
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error-box" role="alert">
      <p>
        <strong>Could not load this.</strong> {message}
      </p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export type Async<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ok'; data: T };

/**
 * Runs `load` now and whenever `deps` change; `reload()` refetches while the old data stays on
 * screen. An UNAUTHENTICATED or FORBIDDEN answer (a wrong or too weak token) goes to `onAuthError`: back to the sign-in form.
 */
export function useQuery<T>(load: () => Promise<T>, deps: unknown[], onAuthError?: (e: ApiError) => void) {
  const [result, setResult] = useState<Async<T>>({ state: 'loading' });
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const authRef = useRef(onAuthError);
  authRef.current = onAuthError;
  const run = useCallback(() => {
    const n = ++seq.current;
    loadRef.current().then(
      (data) => n === seq.current && setResult({ state: 'ok', data }),
      (error: unknown) => {
        if (n !== seq.current) return;
        if (error instanceof ApiError && error.isAuth) authRef.current?.(error);
        setResult({ state: 'error', error });
      },
    );
  }, []);
  useEffect(() => {
    setResult({ state: 'loading' });
    run();
  }, deps);
  return { result, reload: run, setResult };
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** An API key's state as its dates say: revoked, expired or active. */
export function apiKeyState(k: { revokedAt?: string | null; expiresAt?: string | null }): 'REVOKED' | 'EXPIRED' | 'ACTIVE' {
  if (k.revokedAt) return 'REVOKED';
  if (k.expiresAt && Date.parse(k.expiresAt) <= Date.now()) return 'EXPIRED';
  return 'ACTIVE';
}

export function StatusBadge({ value }: { value: string }) {
  return <span className={`badge badge-${value.toLowerCase()}`}>{value.replace(/_/g, ' ').toLowerCase()}</span>;
}

export interface UsageRow {
  meter: string;
  quantity: number;
  included: number;
  overage: number;
}

/** One bar per meter of the plan, or a note that it has none. */
export function UsageBars({ usage }: { usage: UsageRow[] }) {
  if (usage.length === 0) return <Empty>The plan has no metered usage.</Empty>;
  return (
    <>
      {usage.map((u) => (
        <UsageBar key={u.meter} label={u.meter} quantity={u.quantity} included={u.included} overage={u.overage} />
      ))}
    </>
  );
}

/** A bar of used against included; past included, the overage part is shown in the warning colour. */
export function UsageBar({ label, quantity, included, overage }: { label: string; quantity: number; included: number; overage: number }) {
  const max = Math.max(included, quantity, 1);
  const within = Math.min(quantity, included);
  return (
    <div className="usage">
      <div className="usage-head">
        <span>{label}</span>
        <span>
          {quantity.toLocaleString()} of {included.toLocaleString()} included
          {overage > 0 && <strong className="overage"> · {overage.toLocaleString()} over</strong>}
        </span>
      </div>
      <div className="bar" role="meter" aria-label={`${label} used`} aria-valuemin={0} aria-valuemax={max} aria-valuenow={quantity}>
        <span className="bar-in" style={{ width: `${(within / max) * 100}%` }} />
        {overage > 0 && <span className="bar-over" style={{ width: `${(overage / max) * 100}%` }} />}
      </div>
    </div>
  );
}

export function Kpi({ label, value, sub, testId }: { label: string; value: ReactNode; sub?: ReactNode; testId?: string }) {
  return (
    <div className="card kpi">
      <div className="label">{label}</div>
      <div className="value" data-testid={testId}>
        {value}
      </div>
      {sub !== undefined && <div className="sub">{sub}</div>}
    </div>
  );
}

/** A titled card section, labelled by its heading; `actions` stand at the right of the title. */
export function Card({ id, title, actions, children }: { id: string; title: ReactNode; actions?: ReactNode; children: ReactNode }) {
  const heading = `${id}-heading`;
  return (
    <section className="card" aria-labelledby={heading}>
      {actions === undefined ? (
        <h2 id={heading}>{title}</h2>
      ) : (
        <div className="row">
          <h2 id={heading} style={{ margin: 0 }}>
            {title}
          </h2>
          <span className="spacer" />
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

/** A column header: its label, and `num` for a right-aligned number column. */
export type Column = ReactNode | { label: ReactNode; num: true };

/** A data table as every page draws one: scrolls sideways on a narrow screen, a header row, the rows given. */
export function Table({ columns, caption, children }: { columns: Column[]; caption?: string; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        {caption && <caption className="visually-hidden">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c, i) =>
              c !== null && typeof c === 'object' && 'num' in c ? (
                <th key={i} scope="col" className="num">
                  {c.label}
                </th>
              ) : (
                <th key={i} scope="col">
                  {c}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export interface InvoiceRow {
  id: string;
  number?: string | null;
  status: string;
  createdAt: string;
  total: { formatted: string };
  hostedInvoiceUrl?: string | null;
  pdfUrl?: string | null;
}

/** Invoices with their status, total and Stripe's hosted page and PDF (both pages show them alike). */
export function InvoiceTable({ invoices }: { invoices: InvoiceRow[] }) {
  if (invoices.length === 0) return <Empty>No invoices yet.</Empty>;
  return (
    <Table columns={['Invoice', 'Status', { label: 'Total', num: true }, 'Links']}>
      {invoices.map((i) => {
        const name = i.number ?? i.id;
        return (
          <tr key={i.id} data-testid="invoice-row">
            <td>
              {formatDate(i.createdAt)}
              <div className="muted">{name}</div>
            </td>
            <td>
              <StatusBadge value={i.status} />
            </td>
            <td className="num" data-testid="invoice-total">
              {i.total.formatted}
            </td>
            <td>
              {i.hostedInvoiceUrl && (
                <a href={i.hostedInvoiceUrl} target="_blank" rel="noreferrer">
                  View<span className="visually-hidden"> invoice {name}</span>
                </a>
              )}
              {i.hostedInvoiceUrl && i.pdfUrl && ' · '}
              {i.pdfUrl && (
                <a href={i.pdfUrl} target="_blank" rel="noreferrer">
                  PDF<span className="visually-hidden"> of invoice {name}</span>
                </a>
              )}
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

/** Invoices beside this period's usage, as both pages show a customer; `children` follow the usage bars. */
export function InvoicesAndUsage({ invoices, usage, children }: { invoices: InvoiceRow[]; usage: UsageRow[]; children?: ReactNode }) {
  return (
    <div className="two-col">
      <Card id="invoices" title="Invoices">
        <InvoiceTable invoices={invoices} />
      </Card>
      <Card id="usage" title="Usage this period">
        <UsageBars usage={usage} />
        {children}
      </Card>
    </div>
  );
}

export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt?: string | null;
  expiresAt?: string | null;
  revokedAt?: string | null;
}

/** API keys (never their secrets) as both pages list them; `extra` adds a last column (actions, counts). */
export function ApiKeyTable<K extends ApiKeyRow>({ keys, rowTestId, extra }: { keys: K[]; rowTestId: string; extra: { header: ReactNode; cell: (k: K) => ReactNode } }) {
  return (
    <Table columns={['Name', 'Key', 'Created', 'Last used', 'Expires', 'State', extra.header]}>
      {keys.map((k) => (
        <tr key={k.id} data-testid={rowTestId}>
          <td>{k.name}</td>
          <td className="mono">{k.prefix}…</td>
          <td>{formatDate(k.createdAt)}</td>
          <td>{k.lastUsedAt ? formatDate(k.lastUsedAt) : 'never'}</td>
          <td>{k.expiresAt ? formatDate(k.expiresAt) : 'never'}</td>
          <td data-testid="api-key-state">
            <StatusBadge value={apiKeyState(k)} />
            {k.revokedAt && <div className="muted">{formatDate(k.revokedAt)}</div>}
          </td>
          <td>{extra.cell(k)}</td>
        </tr>
      ))}
    </Table>
  );
}
