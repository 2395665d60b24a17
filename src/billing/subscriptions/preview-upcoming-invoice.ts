/**
 * `upcomingInvoice(subscriptionId, plan, quantity)`: Stripe's invoice preview (`invoices.createPreview`),
 * never stored. Without a plan or quantity: the next renewal invoice. With them: what `changePlan` with
 * the same arguments would bill, computed by the same rules (`plan-change.ts`): for an upgrade the
 * invoice issued at once (the proration lines), for a downgrade the next renewal with its credit lines.
 * Answered as an invoice mapped like a mirrored one.
 */
import type Stripe from 'stripe';
import type { Authentication } from '../../auth/guard.js';
import { unstoredInvoiceOf, type UnstoredInvoice } from '../invoices/invoice-view.js';
import { callStripe } from '../stripe-errors.js';
import { requireStripe, type LifecycleDeps } from './lifecycle-deps.js';
import { loadOwnedSubscription } from './owned-subscription.js';
import { licensedSubscriptionItem, planChange } from './plan-change.js';

export interface PreviewUpcomingInvoiceInput {
  subscriptionId: string;
  plan?: string | null;
  quantity?: number | null;
  prorate?: boolean | null;
  prorationDate?: Date | null;
}

export async function previewUpcomingInvoice(deps: LifecycleDeps, auth: Authentication, input: PreviewUpcomingInvoiceInput): Promise<UnstoredInvoice> {
  const { subscription: sub, customerId } = await loadOwnedSubscription(deps, auth, input.subscriptionId);
  const stripe = requireStripe(deps);
  const params: Stripe.InvoiceCreatePreviewParams = { customer: customerId, subscription: sub.id };
  if (input.plan || (input.quantity !== null && input.quantity !== undefined)) {
    const planId = input.plan ?? licensedSubscriptionItem(sub)?.price.lookup_key ?? '';
    const change = await planChange(deps, sub, { plan: planId, quantity: input.quantity, prorate: input.prorate, prorationDate: input.prorationDate });
    if (!change.noop) {
      params.subscription_details = {
        items: change.items,
        proration_behavior: change.behavior,
        ...(change.prorationDate !== undefined && change.behavior !== 'none' ? { proration_date: change.prorationDate } : {}),
      };
    }
  }
  const preview = await callStripe(() => stripe.invoices.createPreview(params), {
    operation: 'invoices.createPreview',
    fields: { 'subscription_details[proration_date]': 'prorationDate', subscription_details: 'plan' },
  });
  return unstoredInvoiceOf(preview, `upcoming_in_${input.subscriptionId}`);
}
