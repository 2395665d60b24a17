import { useState } from 'react';
import type { BillingEventType } from '../gql/graphql';
import { Card, Empty, formatTime } from '../lib/ui';
import { useLive } from './live';

const TYPES: BillingEventType[] = [
  'CUSTOMER_CREATED',
  'SUBSCRIPTION_STARTED',
  'SUBSCRIPTION_UPDATED',
  'SUBSCRIPTION_CANCELED',
  'PAYMENT_RECEIVED',
  'PAYMENT_FAILED',
  'INVOICE_CREATED',
  'MRR_UPDATED',
  'MILESTONE_REACHED',
];

/** Live billing events over graphql-ws; the filters apply on screen, so clearing one shows what was hidden. */
export function EventFeed() {
  const { events, connected, error } = useLive();
  const [type, setType] = useState<string>('');
  const [customer, setCustomer] = useState('');
  const q = customer.trim();
  const shown = events.filter((e) => (!type || e.type === type) && (!q || (e.customerId ?? '').includes(q)));
  return (
    <Card
      id="feed"
      title="Live events"
      actions={
        <span className="muted" role="status">
          <span className={`live-dot${connected ? ' on' : ''}`} aria-hidden="true" />
          {connected ? 'live' : error ? 'reconnecting…' : 'connecting…'}
        </span>
      }
    >
      <div className="row" style={{ margin: '0.75rem 0' }}>
        <label htmlFor="feed-type" className="visually-hidden">
          Event type
        </label>
        <select id="feed-type" data-testid="feed-type" value={type} onChange={(e) => setType(e.target.value)}>
          <option value="">All types</option>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <label htmlFor="feed-customer" className="visually-hidden">
          Customer id
        </label>
        <input id="feed-customer" data-testid="feed-customer" placeholder="Customer id (cus_…)" value={customer} onChange={(e) => setCustomer(e.target.value)} />
      </div>
      <ol className="feed" data-testid="event-feed" aria-live="polite" aria-relevant="additions" tabIndex={0} aria-label="Billing events, newest first">
        {shown.map((e) => (
          <li key={e.id} data-testid="event" data-event-id={e.id}>
            <span className="type">{e.type}</span>
            <time dateTime={e.occurredAt}>{formatTime(e.occurredAt)}</time>
            <span className="msg">
              {e.message}
              {e.amount && <> · {e.amount.formatted}</>}
              {e.customerId && (
                <>
                  {' '}
                  · <a href={`#/customers/${encodeURIComponent(e.customerId)}`}>{e.customerId}</a>
                </>
              )}
            </span>
          </li>
        ))}
      </ol>
      {shown.length === 0 && <Empty>{events.length ? 'No events match these filters.' : 'Waiting for billing events…'}</Empty>}
    </Card>
  );
}
