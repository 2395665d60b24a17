import { registerBilling } from './billing/index.js';
import type { Emulator } from './emulator.js';
import type { Router } from './http/router.js';
import { registerControls } from './resources/controls.js';
import { registerCustomers } from './resources/customers.js';
import { registerPaymentMethods } from './resources/payment-methods.js';
import { registerPrices } from './resources/prices.js';
import { registerProducts } from './resources/products.js';

/** Every route the emulator serves: Stripe's API under /v1, hosted pages, and /_emulator controls. */
export function registerRoutes(router: Router, emu: Emulator): void {
  registerCustomers(router, emu);
  registerPaymentMethods(router, emu);
  registerProducts(router, emu);
  registerPrices(router, emu);
  registerBilling(router, emu);
  registerControls(router, emu);
}
