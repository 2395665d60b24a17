import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { createBalanceTransaction, refreshChargeRefunds, requireCharge, type ChargeRecord } from './charges.js';
import { jsonClone, previousAttributes } from '../events.js';
import { mergeMetadata } from './common.js';
import type { PaymentIntentRecord } from './payment-intents.js';

export type RefundRecord = Stripe.Refund & Stored;

/**
 * Refunds a captured card charge (all that is left, or `amount`) at once (`succeeded`): `refund.created`,
 * then `charge.refunded` with the charge's new `amount_refunded`. Exported for credit notes.
 */
export function refundCharge(
  emu: Emulator,
  charge: ChargeRecord,
  opts: { amount?: number; reason?: Stripe.Refund.Reason | null; metadata?: Record<string, string>; param?: string } = {},
): RefundRecord {
  const left = charge.amount_captured - charge.amount_refunded;
  if (!charge.captured || charge.status !== 'succeeded') {
    throw invalidRequest(`Charge ${charge.id} has not been captured: cancel its PaymentIntent to release it.`, opts.param, 'charge_not_refundable');
  }
  if (left <= 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, opts.param, 'charge_already_refunded');
  const amount = opts.amount ?? left;
  if (amount > left) {
    throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, 'amount', 'amount_too_large');
  }
  const now = emu.nowFor(charge);
  const id = newId('re', 24);
  const refund: RefundRecord = {
    id,
    object: 'refund',
    amount,
    balance_transaction: createBalanceTransaction(emu, { amount: -amount, currency: charge.currency, source: id, type: 'refund', created: now, description: 'REFUND FOR CHARGE' }).id,
    charge: charge.id,
    created: now,
    currency: charge.currency,
    customer: typeof charge.customer === 'string' ? charge.customer : (charge.customer?.id ?? null),
    customer_account: null,
    destination_details: { card: { reference: newId('', 12).slice(1), reference_status: 'available', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' },
    metadata: opts.metadata ?? {},
    payment_intent: typeof charge.payment_intent === 'string' ? charge.payment_intent : (charge.payment_intent?.id ?? null),
    payment_method: charge.payment_method,
    reason: opts.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  emu.store.insert('refund', refund);
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount_captured;
  refreshChargeRefunds(emu, charge);
  emu.store.changed();
  emu.events.emit('refund.created', refund);
  emu.events.emit('charge.refunded', charge);
  return refund;
}

export function registerRefunds(router: Router, emu: Emulator): void {
  const requireRefund = (id: string): RefundRecord => emu.store.require<RefundRecord>('refund', id, 'refund');

  router.post('/v1/refunds', ({ params: p }) => {
    const chargeId = p.string('charge');
    const piId = p.string('payment_intent');
    const amount = p.int('amount', { min: 1 });
    const reason = p.enum('reason', ['duplicate', 'fraudulent', 'requested_by_customer'] as const);
    const metadata = p.metadata();
    p.string('instructions_email');
    p.enum('origin', ['customer_balance'] as const);
    p.bool('refund_application_fee');
    p.bool('reverse_transfer');
    p.done();
    if (!chargeId && !piId) throw invalidRequest('One of the following params should be provided for this request: payment_intent or charge.', undefined, 'parameter_missing');
    let charge: ChargeRecord;
    if (chargeId) {
      charge = requireCharge(emu, chargeId, 'charge');
    } else {
      const pi = emu.store.require<PaymentIntentRecord>('payment_intent', piId!, 'payment_intent', 'payment_intent');
      if (pi.status !== 'succeeded' || !pi.latest_charge) {
        throw invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, 'payment_intent', 'charge_not_refundable');
      }
      charge = requireCharge(emu, pi.latest_charge as string, 'payment_intent');
    }
    return refundCharge(emu, charge, { ...(amount !== undefined ? { amount } : {}), reason: reason ?? null, metadata: mergeMetadata({}, metadata), param: chargeId ? 'charge' : 'payment_intent' });
  });

  router.get('/v1/refunds/:id', ({ params: p, path }) => {
    p.done();
    return requireRefund(path.id!);
  });

  /** Only metadata changes; Stripe announces it both as `refund.updated` and the older `charge.refund.updated`. */
  router.post('/v1/refunds/:id', ({ params: p, path }) => {
    const metadata = p.metadata();
    p.done();
    const refund = requireRefund(path.id!);
    const before = jsonClone(refund) as Record<string, unknown>;
    refund.metadata = mergeMetadata(refund.metadata ?? {}, metadata);
    const prev = previousAttributes(before, refund as Record<string, unknown>);
    if (Object.keys(prev).length > 0) {
      emu.store.changed();
      const updated = emu.events.emit('refund.updated', refund, { previousAttributes: prev });
      emu.events.emit('charge.refund.updated', refund, { previousAttributes: prev, sameSnapshotAs: updated });
    }
    return refund;
  });

  router.post('/v1/refunds/:id/cancel', ({ params: p, path }) => {
    p.done();
    const refund = requireRefund(path.id!);
    throw invalidRequest(`Refund ${refund.id} has a status of ${refund.status}: only a refund that requires action can be canceled.`, undefined, 'refund_not_cancelable');
  });

  router.get('/v1/refunds', ({ params: p, url }) => {
    const charge = p.string('charge');
    const paymentIntent = p.string('payment_intent');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<RefundRecord>('refund')).filter(
      (r) => (charge === undefined || r.charge === charge) && (paymentIntent === undefined || r.payment_intent === paymentIntent) && (!created || created(r.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}
