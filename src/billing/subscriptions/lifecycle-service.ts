/**
 * The write side of the subscription lifecycle as one per-request service (what resolvers call):
 * each method is one use case module; this class only carries the request's dependencies.
 */
import type { Authentication } from '../../auth/guard.js';
import { createCheckoutSession, type CheckoutSessionOutcome, type CreateCheckoutSessionInput } from '../sessions/create-checkout-session.js';
import { createPortalSession, type CreatePortalSessionInput, type PortalSessionOutcome } from '../sessions/create-portal-session.js';
import { cancel, type CancelInput } from './cancel.js';
import { changePlan, type ChangePlanInput, type SubscriptionOutcome } from './change-plan.js';
import type { LifecycleDeps } from './lifecycle-deps.js';
import { previewUpcomingInvoice, type PreviewUpcomingInvoiceInput } from './preview-upcoming-invoice.js';
import { resume, type ResumeInput } from './resume.js';
import { subscribe, type SubscribeInput, type SubscribeOutcome } from './subscribe.js';
import { mirroredSubscription } from './write-through.js';
import type { Subscription } from '../../db/entities/subscription.js';
import type { UnstoredInvoice } from '../invoices/invoice-view.js';

export class SubscriptionLifecycleService {
  constructor(private readonly deps: LifecycleDeps) {}

  subscribe(auth: Authentication, input: SubscribeInput): Promise<SubscribeOutcome> {
    return subscribe(this.deps, auth, input);
  }
  changePlan(auth: Authentication, input: ChangePlanInput): Promise<SubscriptionOutcome> {
    return changePlan(this.deps, auth, input);
  }
  cancel(auth: Authentication, input: CancelInput): Promise<SubscriptionOutcome> {
    return cancel(this.deps, auth, input);
  }
  resume(auth: Authentication, input: ResumeInput): Promise<SubscriptionOutcome> {
    return resume(this.deps, auth, input);
  }
  previewUpcomingInvoice(auth: Authentication, input: PreviewUpcomingInvoiceInput): Promise<UnstoredInvoice> {
    return previewUpcomingInvoice(this.deps, auth, input);
  }
  createPortalSession(auth: Authentication, input: CreatePortalSessionInput): Promise<PortalSessionOutcome> {
    return createPortalSession(this.deps, auth, input);
  }
  createCheckoutSession(auth: Authentication, input: CreateCheckoutSessionInput): Promise<CheckoutSessionOutcome> {
    return createCheckoutSession(this.deps, auth, input);
  }
  /** The mirrored row a mutation wrote (fresh from the database). */
  subscriptionRow(id: string): Promise<Subscription> {
    return mirroredSubscription(this.deps, id);
  }
}
