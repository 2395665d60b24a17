import type { Emulator } from '../emulator.js';
import type { Router } from '../http/router.js';

/**
 * Subscriptions, invoices, payment intents, test-clock billing, checkout and portal sessions.
 * (Being written; registers its routes and its clock-advance hook here.)
 */
export function registerBilling(_router: Router, _emu: Emulator): void {}
