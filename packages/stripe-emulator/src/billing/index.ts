import type { Emulator } from '../emulator.js';
import type { Router } from '../http/router.js';
import { advanceClockBilling, startWallClockBilling } from './engine.js';
import { registerInvoiceItemRoutes } from './routes-invoice-items.js';
import { registerInvoiceLineRoutes } from './routes-invoice-lines.js';
import { registerInvoicePaymentRoutes } from './routes-invoice-payments.js';
import { registerInvoiceRoutes } from './routes-invoices.js';
import { registerSubscriptionRoutes } from './routes-subscriptions.js';
import { registerScheduleRoutes } from './schedules.js';
import { registerSettingsRoutes } from './settings.js';
import { idOf, type SubRecord } from './records.js';
import { cancelSubscriptionNow } from './subscription-cancel.js';

export { createSubscription, type CreateSubscriptionInput } from './subscription-create.js';
export { cancelSubscriptionNow } from './subscription-cancel.js';
export { chargeInvoice } from './subscription-payments.js';
export { updateSubscription, resumeSubscription, type UpdateSubscriptionInput } from './subscription-update.js';
export { payInvoice, invoiceOfPaymentIntent, confirmInvoicePaymentIntent } from './routes-invoices.js';
export { finalizeInvoice } from './invoices.js';
export { invoicePaymentIntent } from './payments.js';
export { processDue } from './engine.js';
export { billingSettings, setBillingSettings, type BillingSettings } from './settings.js';

/**
 * Subscriptions, subscription items, invoices and their lines, invoice items, previews, payment
 * intents / invoice payments, and the billing engine that test clocks (and, for customers without
 * one, the wall clock) drive: trials, renewals, metered usage, dunning.
 */
export function registerBilling(router: Router, emu: Emulator): void {
  registerSubscriptionRoutes(router, emu);
  registerScheduleRoutes(router, emu);
  registerInvoiceLineRoutes(router, emu);
  registerInvoiceRoutes(router, emu);
  registerInvoiceItemRoutes(router, emu);
  registerInvoicePaymentRoutes(router, emu);
  registerSettingsRoutes(router, emu);
  emu.onClockAdvance((clock, from, to) => advanceClockBilling(emu, clock, from, to));
  // Deleting a customer cancels its subscriptions at once, as at Stripe.
  emu.customerDeleteHooks.push((customer) => {
    for (const sub of emu.store.all<SubRecord>('subscription')) {
      if (idOf(sub.customer) === customer.id && !['canceled', 'incomplete_expired'].includes(sub.status)) {
        cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' });
      }
    }
  });
  emu.onClose(startWallClockBilling(emu));
}
