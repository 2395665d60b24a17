import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import type { Stored } from '../store.js';
import { recordCharge } from './charges.js';
import type { PaymentIntentRecord } from '../billing/records.js';
import type { PaymentMethodRecord } from './payment-methods.js';

/** A customer's cash balance per currency (Stripe shows it as `cash_balance.available`). */
interface CashBalance extends Stored {
  available: Record<string, number>;
}
const CASH_BALANCE_KIND = 'customer_cash_balance';

function balanceOf(emu: Emulator, customerId: string): CashBalance {
  return emu.store.get<CashBalance>(CASH_BALANCE_KIND, customerId) ?? emu.store.insert<CashBalance>(CASH_BALANCE_KIND, { id: customerId, available: {} });
}

/** What a customer-balance PaymentIntent still waits for (its bank transfer instructions). */
function remainingOf(pi: PaymentIntentRecord): number {
  return pi.next_action?.display_bank_transfer_instructions?.amount_remaining ?? pi.amount;
}

/**
 * Applies the customer's cash balance to a PaymentIntent paid by bank transfer (`customer_balance`):
 * paid in full → a charge (`charge.succeeded`) and `payment_intent.succeeded`; in part → the transfer
 * instructions show what is left (`payment_intent.partially_funded`); nothing yet → `requires_action`
 * with the instructions (`payment_intent.requires_action`, on the first attempt only).
 */
export function applyCashBalance(emu: Emulator, pi: PaymentIntentRecord, pm: PaymentMethodRecord, first: boolean): void {
  const customerId = pi.customer as string;
  const cash = balanceOf(emu, customerId);
  const remaining = remainingOf(pi);
  const applied = Math.min(cash.available[pi.currency] ?? 0, remaining);
  cash.available[pi.currency] = (cash.available[pi.currency] ?? 0) - applied;
  const now = emu.nowFor(pi);
  if (applied === remaining) {
    const charge = recordCharge(emu, { amount: pi.amount, currency: pi.currency, customer: customerId, description: pi.description, paymentIntent: pi.id, capture: true, created: now }, pm, null);
    Object.assign(pi, { status: 'succeeded', amount_received: pi.amount, payment_method: pm.id, latest_charge: charge.id, next_action: null, last_payment_error: null });
    emu.store.changed();
    emu.events.emit('payment_intent.succeeded', pi);
    return;
  }
  Object.assign(pi, {
    status: 'requires_action',
    payment_method: pm.id,
    next_action: {
      type: 'display_bank_transfer_instructions',
      display_bank_transfer_instructions: {
        amount_remaining: remaining - applied,
        currency: pi.currency,
        financial_addresses: [],
        hosted_instructions_url: `${emu.baseUrl}/_emulator/bank_transfer_instructions/${pi.id}`,
        reference: pi.id.slice(3, 13).toUpperCase(),
        type: 'jp_bank_transfer',
      },
    },
  });
  emu.store.changed();
  if (applied > 0) emu.events.emit('payment_intent.partially_funded', pi);
  else if (first) emu.events.emit('payment_intent.requires_action', pi);
}

export function registerCashBalance(router: Router, emu: Emulator): void {
  /** Simulates an incoming bank transfer: the balance grows, then pays the customer's waiting PaymentIntents, oldest first. */
  router.post('/v1/test_helpers/customers/:id/fund_cash_balance', ({ params: p, path }) => {
    const amount = p.int('amount', { min: 1, required: true });
    const currency = p.string('currency', { required: true }).toLowerCase();
    const reference = p.string('reference');
    p.done();
    const customer = emu.store.get<Stripe.Customer & Stored>('customer', path.id!);
    if (!customer || (customer as { deleted?: boolean }).deleted) throw resourceMissing('customer', path.id!);
    const cash = balanceOf(emu, customer.id);
    cash.available[currency] = (cash.available[currency] ?? 0) + amount;
    const txn: Stripe.CustomerCashBalanceTransaction & Stored = {
      id: newId('ccsbtxn', 24),
      object: 'customer_cash_balance_transaction',
      created: emu.nowFor(customer),
      currency,
      customer: customer.id,
      customer_account: null,
      ending_balance: cash.available[currency],
      funded: { bank_transfer: { eu_bank_transfer: null, gb_bank_transfer: null, jp_bank_transfer: null, reference: reference ?? null, type: 'jp_bank_transfer', us_bank_transfer: null } } as unknown as Stripe.CustomerCashBalanceTransaction.Funded,
      livemode: false,
      net_amount: amount,
      type: 'funded',
    };
    emu.store.insert('customer_cash_balance_transaction', txn);
    emu.store.changed();
    const waiting = emu.store
      .all<PaymentIntentRecord>('payment_intent')
      .filter((pi) => pi.customer === customer.id && pi.currency === currency && pi.status === 'requires_action' && pi.next_action?.type === 'display_bank_transfer_instructions');
    for (const pi of waiting) {
      const pm = emu.store.get<PaymentMethodRecord>('payment_method', pi.payment_method as string);
      if (!pm) throw invalidRequest(`The PaymentIntent ${pi.id} lost its payment method.`);
      applyCashBalance(emu, pi, pm, false);
    }
    return txn;
  });
}
