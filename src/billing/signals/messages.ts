/**
 * The one-line messages of signals, in the seed's style (`payment_received customer=cus_x amount=$100.00`).
 * The same text is the BillingEvent's `message` and the log line.
 */
import type { BillingEventTypeValue } from '../../db/entities/billing-event.js';
import { formatMoney } from '../../money.js';

export interface MessageInput {
  type: BillingEventTypeValue;
  customerId: string | null;
  invoiceId: string | null;
  amount: number | null;
  currency: string | null;
  data: Record<string, unknown>;
}

const money = (amount: number | null, currency: string | null): string => (amount === null || !currency ? '?' : formatMoney(amount, currency));

/** `+$100.00` / `-$100.00` */
export function signedMoney(amount: number, currency: string): string {
  return amount < 0 ? formatMoney(amount, currency) : `+${formatMoney(amount, currency)}`;
}

export function signalMessage(s: MessageInput): string {
  const customer = `customer=${s.customerId ?? '?'}`;
  const plan = `plan=${(s.data.plan as string | null | undefined) ?? '?'}`;
  switch (s.type) {
    case 'CUSTOMER_CREATED':
      return `customer_created ${customer}`;
    case 'SUBSCRIPTION_STARTED':
      return `subscription_started ${customer} ${plan}`;
    case 'SUBSCRIPTION_UPDATED':
      return `subscription_updated ${customer} ${plan} status=${String(s.data.status ?? '?')}`;
    case 'SUBSCRIPTION_CANCELED':
      return `subscription_canceled ${customer} ${plan}`;
    case 'PAYMENT_RECEIVED':
      return `payment_received ${customer} amount=${money(s.amount, s.currency)}`;
    case 'PAYMENT_FAILED':
      // A dunning step (src/billing/dunning) names its step and day; a Stripe attempt does not.
      return `payment_failed ${customer} retry=${String(s.data.retry ?? '?')}${s.data.step ? ` step=${String(s.data.step)} day=${String(s.data.day ?? '?')}` : ''}`;
    case 'INVOICE_CREATED':
      return `invoice_created ${customer} invoice=${s.invoiceId ?? '?'} amount=${money(s.amount, s.currency)}`;
    case 'MRR_UPDATED':
      return `mrr_update mrr=${money(s.amount, s.currency)} change=${s.currency ? signedMoney(Number(s.data.change ?? 0), s.currency) : '?'}${s.data.kind ? ` kind=${String(s.data.kind)}` : ''}`;
    case 'MILESTONE_REACHED':
      return `milestone mrr=${money(s.amount, s.currency)}`;
    case 'API_KEY_LIMIT_REACHED':
      return `api_key_limit_reached ${customer} key=${String(s.data.keyId ?? '?')} code=${String(s.data.code ?? '?').toLowerCase()} limit=${String(s.data.limit ?? '?')} ${plan}`;
  }
}
