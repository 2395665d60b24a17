import { confirmInvoicePaymentIntent, invoiceOfPaymentIntent, registerBilling } from './billing/index.js';
import type { Emulator } from './emulator.js';
import type { Router } from './http/router.js';
import { registerPages } from './pages/index.js';
import { registerControls } from './resources/controls.js';
import { registerCashBalance } from './resources/cash-balance.js';
import { registerCharges } from './resources/charges.js';
import { registerCoupons } from './resources/coupons.js';
import { registerCreditNotes } from './resources/credit-notes.js';
import { registerEvents } from './resources/events.js';
import { registerMeterEventStream } from './resources/meter-event-stream.js';
import { registerMeters } from './resources/meters.js';
import { registerSetupIntents } from './resources/setup-intents.js';
import { registerSources } from './resources/sources.js';
import { registerTestClocks } from './resources/test-clocks.js';
import { registerWebhookEndpoints } from './resources/webhook-endpoints.js';
import { registerCustomers } from './resources/customers.js';
import { registerPaymentIntents } from './resources/payment-intents.js';
import { registerPaymentMethods } from './resources/payment-methods.js';
import { registerPlans } from './resources/plans.js';
import { registerPrices } from './resources/prices.js';
import { registerRefunds } from './resources/refunds.js';
import { registerProducts } from './resources/products.js';
import { registerSearch } from './resources/search.js';

/** Every route the emulator serves: Stripe's API under /v1, hosted pages, and /_emulator controls. */
export function registerRoutes(router: Router, emu: Emulator): void {
  // First: `/v1/customers/search` must not be taken for `/v1/customers/:id`.
  registerSearch(router, emu);
  registerCustomers(router, emu);
  registerPaymentMethods(router, emu);
  registerPaymentIntents(router, emu, { invoiceOf: invoiceOfPaymentIntent, confirm: confirmInvoicePaymentIntent });
  registerCharges(router, emu);
  registerCashBalance(router, emu);
  registerRefunds(router, emu);
  registerSetupIntents(router, emu);
  registerSources(router, emu);
  registerProducts(router, emu);
  registerPrices(router, emu);
  registerPlans(router, emu);
  registerMeters(router, emu);
  registerMeterEventStream(router, emu);
  registerCoupons(router, emu);
  registerTestClocks(router, emu);
  registerEvents(router, emu);
  registerWebhookEndpoints(router, emu);
  registerBilling(router, emu);
  registerCreditNotes(router, emu);
  registerPages(router, emu);
  registerControls(router, emu);
}
