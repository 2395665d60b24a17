/**
 * Event handlers per type: which mirrored object an event is about, whether it carries a usable copy
 * of it, and how to re-read it. The convergence rule itself is in `convergence.ts`.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { isResourceMissing } from '../client.js';
import { deleteInvoice, mirrorObject, SUBSCRIPTION_MIRROR_EXPAND, type PlanCatalog } from '../mirror/index.js';
import { decide, lockObject, rereadStamp, rowStamp, type MirrorKind } from './convergence.js';

export const HANDLED_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end',
  'invoice.created',
  'invoice.finalized',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'invoice.voided',
  'invoice.marked_uncollectible',
  'invoice.upcoming',
  'checkout.session.completed',
  'payment_method.attached',
  'payment_method.detached',
] as const;

export type HandledEventType = (typeof HANDLED_EVENT_TYPES)[number];

const HANDLED = new Set<string>(HANDLED_EVENT_TYPES);

export function isHandledEventType(type: string): type is HandledEventType {
  return HANDLED.has(type);
}

export interface HandlerContext {
  stripe: Stripe;
  catalog: PlanCatalog;
}

/** What processing one event did to the mirror. */
export interface HandleResult {
  action: 'applied' | 'reread' | 'skipped' | 'noop';
  kind?: MirrorKind;
  objectId?: string;
  reason?: string;
}

/** The mirrored object an event is about, and the event's copy of it (null: re-read it). */
interface Target {
  kind: MirrorKind;
  id: string;
  payload: Stripe.Customer | Stripe.Subscription | Stripe.Invoice | null;
}

const idOf = (v: unknown): string | null =>
  typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : null;

async function targetOf(em: EntityManager, event: Stripe.Event): Promise<Target | { none: string }> {
  const obj = event.data.object as unknown as Record<string, unknown>;
  const type = event.type as string;
  if (type.startsWith('customer.subscription.')) {
    return { kind: 'subscription', id: obj.id as string, payload: obj as unknown as Stripe.Subscription };
  }
  if (type.startsWith('customer.')) return { kind: 'customer', id: obj.id as string, payload: obj as unknown as Stripe.Customer };
  if (type.startsWith('invoice.')) {
    const id = idOf(obj);
    // invoice.upcoming carries a preview (no in_ id): there is nothing to store.
    if (!id || !id.startsWith('in_')) return { none: 'preview invoice (no id)' };
    return { kind: 'invoice', id, payload: obj as unknown as Stripe.Invoice };
  }
  if (type === 'checkout.session.completed') {
    const sub = idOf(obj.subscription);
    if (sub) return { kind: 'subscription', id: sub, payload: null };
    const customer = idOf(obj.customer);
    return customer ? { kind: 'customer', id: customer, payload: null } : { none: 'checkout session without customer or subscription' };
  }
  if (type.startsWith('payment_method.')) {
    // Detached: `customer` is null now; the previous attributes name it.
    const prev = (event.data.previous_attributes ?? {}) as Record<string, unknown>;
    let customer = idOf(obj.customer) ?? idOf(prev.customer);
    // A detach may say neither; the customer whose default it was (cleared by the detach) is in the mirror.
    if (!customer && typeof obj.id === 'string') {
      const rows = await (em as SqlEntityManager).execute<{ id: string }[]>(
        `select "id" from "customers" where "default_payment_method" = ? limit 1`,
        [obj.id],
      );
      customer = rows[0]?.id ?? null;
    }
    return customer ? { kind: 'customer', id: customer, payload: null } : { none: 'payment method without customer' };
  }
  return { none: `unhandled type ${type}` };
}

/** Reads the object's current state from Stripe and stores it, stamped `stamp`. */
async function rereadInto(em: EntityManager, target: Target, stamp: Date, ctx: HandlerContext): Promise<'reread' | 'applied'> {
  const mctx = { catalog: ctx.catalog, stripe: ctx.stripe, lastEventAt: stamp, nested: false };
  try {
    switch (target.kind) {
      case 'customer': {
        const c = await ctx.stripe.customers.retrieve(target.id);
        await mirrorObject(em, c, mctx);
        return 'reread';
      }
      case 'subscription': {
        const s = await ctx.stripe.subscriptions.retrieve(target.id, { expand: [...SUBSCRIPTION_MIRROR_EXPAND] });
        await mirrorObject(em, s, mctx);
        return 'reread';
      }
      case 'invoice': {
        const i = await ctx.stripe.invoices.retrieve(target.id);
        await mirrorObject(em, i, mctx);
        return 'reread';
      }
    }
  } catch (err) {
    if (!isResourceMissing(err)) throw err;
    // Gone from Stripe: a deleted draft invoice, a deleted customer.
    if (target.kind === 'invoice') {
      await deleteInvoice(em, target.id);
      return 'reread';
    }
    if (target.kind === 'customer') {
      await mirrorObject(em, { id: target.id, object: 'customer', deleted: true } as Stripe.DeletedCustomer, mctx);
      return 'reread';
    }
    if (target.payload) {
      await applyPayload(em, target, stamp, '', ctx);
      return 'applied';
    }
    throw err;
  }
}

async function applyPayload(em: EntityManager, target: Target, stamp: Date, eventType: string, ctx: HandlerContext): Promise<void> {
  await mirrorObject(em, target.payload!, { catalog: ctx.catalog, stripe: ctx.stripe, lastEventAt: stamp, eventType, nested: false });
}

/**
 * Brings one event into the mirror (in the caller's transaction): locks the object, compares the
 * event's time with the row's stamp, and applies the payload, skips it, or re-reads the object.
 */
export async function handleStripeEvent(em: EntityManager, event: Stripe.Event, ctx: HandlerContext): Promise<HandleResult> {
  if (!isHandledEventType(event.type)) return { action: 'noop', reason: `unhandled type ${event.type}` };
  const target = await targetOf(em, event);
  if ('none' in target) return { action: 'noop', reason: target.none };
  await lockObject(em, target.id);
  const created = new Date(event.created * 1000);
  const stamp = await rowStamp(em, target.kind, target.id);
  const decision = decide(created, stamp, target.payload !== null);
  const base = { kind: target.kind, objectId: target.id };
  if (decision === 'skip') return { ...base, action: 'skipped', reason: 'row reflects a later event' };
  let action: HandleResult['action'];
  if (decision === 'apply') {
    await applyPayload(em, target, created, event.type, ctx);
    action = 'applied';
  } else {
    action = await rereadInto(em, target, rereadStamp(created, stamp), ctx);
  }
  if (target.kind !== 'customer') await ensureCustomer(em, target, ctx);
  return { ...base, action };
}

/**
 * A subscription or invoice may be mirrored before its customer (events come in any order). Who a
 * customer is (its externalId) decides who may see its live events, so a missing customer is read
 * from Stripe now. It is stored without an event stamp: its next event re-reads it (see convergence.ts).
 */
async function ensureCustomer(em: EntityManager, target: Target, ctx: HandlerContext): Promise<void> {
  const sql = em as SqlEntityManager;
  const table = target.kind === 'subscription' ? 'subscriptions' : 'invoices';
  const rows = await sql.execute<{ customer_id: string; known: boolean }[]>(
    `select t."customer_id", exists (select 1 from "customers" c where c."id" = t."customer_id") as known from "${table}" t where t."id" = ?`,
    [target.id],
  );
  const row = rows[0];
  if (!row || row.known) return;
  await lockObject(em, row.customer_id);
  if ((await rowStamp(em, 'customer', row.customer_id)) !== undefined) return;
  try {
    const customer = await ctx.stripe.customers.retrieve(row.customer_id);
    await mirrorObject(em, customer, { catalog: ctx.catalog, stripe: ctx.stripe, nested: false });
  } catch (err) {
    if (!isResourceMissing(err)) throw err;
  }
}
