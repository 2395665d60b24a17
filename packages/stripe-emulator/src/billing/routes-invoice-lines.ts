import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Router } from '../http/router.js';
import { paginate } from '../list.js';
import { registerPreview } from './preview.js';
import { requireInvoice } from './routes-invoices.js';

/** An invoice's lines and `create_preview` (registered before `POST /v1/invoices/:id`, which would match it). */
export function registerInvoiceLineRoutes(router: Router, emu: Emulator): void {
  registerPreview(router, emu);

  router.get('/v1/invoices/:id/lines', ({ params: p, path, url }) => {
    const inv = requireInvoice(emu, path.id!);
    const page = paginate(inv.lines.data as (Stripe.InvoiceLineItem & { id: string })[], p, url);
    p.done();
    return page;
  });
}
