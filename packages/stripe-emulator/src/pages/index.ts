import type { Emulator } from '../emulator.js';
import type { Router } from '../http/router.js';
import { registerCheckout } from './checkout.js';
import { registerInvoicePages } from './invoice-pages.js';
import { registerPortal } from './portal.js';

export { completeCheckout, type CheckoutSessionRecord } from './checkout-sessions.js';
export { invoicePageUrl, invoicePdfUrl } from './invoice-pages.js';

/**
 * Checkout sessions and the billing portal (API + hosted pages), and the hosted invoice page
 * and PDF. Pages need no API key, use no JavaScript and no external assets.
 */
export function registerPages(router: Router, emu: Emulator): void {
  registerCheckout(router, emu);
  registerPortal(router, emu);
  registerInvoicePages(router, emu);
}
