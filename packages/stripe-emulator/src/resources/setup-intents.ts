import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError, invalidRequest } from '../errors.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newId, newSecret } from '../ids.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { declineOf } from './charges.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import { cardBehaviour, markAttached, resolvePaymentMethod, type PaymentMethodRecord } from './payment-methods.js';

export type SetupIntentRecord = Stripe.SetupIntent & Stored;

/** A new SetupIntent, stored, `setup_intent.created` emitted. Exported for Checkout `mode=setup`. */
export function createSetupIntent(
  emu: Emulator,
  fields: { customer: string | null; description?: string | null; metadata?: Record<string, string>; usage?: string; paymentMethodTypes?: string[]; paymentMethod?: string | null },
): SetupIntentRecord {
  const id = newId('seti', 24);
  const now = fields.customer ? emu.nowFor(emu.store.get('customer', fields.customer)!) : emu.realNow();
  const si: SetupIntentRecord = {
    id,
    object: 'setup_intent',
    allowed_payment_method_types: null,
    application: null,
    automatic_payment_methods: null,
    cancellation_reason: null,
    client_secret: `${id}_secret_${newSecret('x').slice(2, 26)}`,
    created: now,
    customer: fields.customer,
    customer_account: null,
    description: fields.description ?? null,
    excluded_payment_method_types: null,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: null,
    livemode: false,
    mandate: null,
    metadata: fields.metadata ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: fields.paymentMethod ?? null,
    payment_method_configuration_details: null,
    payment_method_options: { card: { mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: fields.paymentMethodTypes ?? ['card'],
    single_use_mandate: null,
    status: fields.paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    usage: fields.usage ?? 'off_session',
  };
  emu.store.insert('setup_intent', si);
  emu.events.emit('setup_intent.created', si);
  return si;
}

/**
 * Confirms a SetupIntent with a card: a valid card is saved (`succeeded`, attached to the customer,
 * `setup_intent.succeeded`); a card that needs 3-D Secure waits for the challenge (`requires_action`)
 * unless `authenticated`; a declined card fails (`setup_intent.setup_failed`, 402 card error).
 */
export function confirmSetupIntent(emu: Emulator, si: SetupIntentRecord, pm: PaymentMethodRecord, authenticated: boolean): SetupIntentRecord {
  const behaviour = cardBehaviour(pm);
  if (behaviour === 'requires_authentication' && !authenticated) {
    Object.assign(si, {
      status: 'requires_action',
      payment_method: pm.id,
      last_setup_error: null,
      next_action: {
        type: 'use_stripe_sdk',
        use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `${emu.baseUrl}/_emulator/3ds/${si.id}`, source: `src_${si.id.slice(5)}` },
      },
    });
    emu.store.changed();
    emu.events.emit('setup_intent.requires_action', si);
    return si;
  }
  if (behaviour === 'declined') {
    const error = declineOf(pm);
    Object.assign(si, { status: 'requires_payment_method', payment_method: null, next_action: null, last_setup_error: error });
    emu.store.changed();
    emu.events.emit('setup_intent.setup_failed', si);
    throw new StripeError(402, { ...(error as unknown as Record<string, unknown>), type: 'card_error', setup_intent: structuredClone(si) } as never);
  }
  const customer = typeof si.customer === 'string' ? si.customer : (si.customer?.id ?? null);
  if (customer && !pm.customer) markAttached(emu, pm, customer);
  Object.assign(si, { status: 'succeeded', payment_method: pm.id, next_action: null, last_setup_error: null });
  emu.store.changed();
  emu.events.emit('setup_intent.succeeded', si);
  return si;
}

/** Parameters of a confirmation the emulator has nothing to do with (redirects, mandates, SDK hints). */
function readIgnored(p: Params): void {
  p.string('return_url');
  p.bool('use_stripe_sdk');
  p.accept('mandate_data');
  p.accept('payment_method_options');
  p.string('confirmation_token');
}

export function registerSetupIntents(router: Router, emu: Emulator): void {
  const requireSi = (id: string): SetupIntentRecord => emu.store.require<SetupIntentRecord>('setup_intent', id, 'setup_intent');

  const confirm = (si: SetupIntentRecord, paymentMethod: string | undefined): SetupIntentRecord => {
    if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(si.status)) {
      throw invalidRequest(`You cannot confirm this SetupIntent because it has a status of ${si.status}.`, undefined, 'setup_intent_unexpected_state');
    }
    const current = typeof si.payment_method === 'string' ? si.payment_method : (si.payment_method?.id ?? undefined);
    const pmId = paymentMethod ?? current;
    if (!pmId) throw invalidRequest("You cannot confirm this SetupIntent because it's missing a payment method.", 'payment_method', 'setup_intent_unexpected_state');
    // Confirming a requires_action SetupIntent with its own card stands for the passed challenge.
    const authenticated = si.status === 'requires_action' && pmId === current;
    const pm = resolvePaymentMethod(emu, pmId, 'payment_method');
    return confirmSetupIntent(emu, si, pm, authenticated);
  };

  router.post('/v1/setup_intents', ({ params: p }) => {
    const customer = p.string('customer');
    const paymentMethod = p.string('payment_method');
    const doConfirm = p.bool('confirm') ?? false;
    const description = p.string('description');
    const metadata = p.metadata();
    const usage = p.enum('usage', ['off_session', 'on_session'] as const);
    const types = p.strings('payment_method_types');
    const automatic = p.object('automatic_payment_methods');
    automatic?.bool('enabled');
    automatic?.enum('allow_redirects', ['always', 'never'] as const);
    p.bool('attach_to_self');
    p.strings('flow_directions');
    readIgnored(p);
    p.done();
    if (customer) emu.store.require('customer', customer, 'customer', 'customer');
    const unsupported = (types ?? []).find((t) => t !== 'card');
    if (unsupported) throw invalidRequest(`The payment method type "${unsupported}" is not emulated: the emulator saves cards only.`, 'payment_method_types');
    const pm = paymentMethod ? resolvePaymentMethod(emu, paymentMethod, 'payment_method') : null;
    const si = createSetupIntent(emu, {
      customer: customer ?? null,
      description: description ?? null,
      metadata: mergeMetadata({}, metadata),
      ...(usage ? { usage } : {}),
      ...(types ? { paymentMethodTypes: types } : {}),
      paymentMethod: pm?.id ?? null,
    });
    return doConfirm ? confirm(si, undefined) : si;
  });

  router.get('/v1/setup_intents/:id', ({ params: p, path }) => {
    p.string('client_secret');
    p.done();
    return requireSi(path.id!);
  });

  router.post('/v1/setup_intents/:id', ({ params: p, path }) => {
    const customer = p.string('customer');
    const paymentMethod = p.string('payment_method');
    const description = p.nullableString('description');
    const metadata = p.metadata();
    const types = p.strings('payment_method_types');
    p.accept('payment_method_options');
    p.done();
    const si = requireSi(path.id!);
    if (customer) emu.store.require('customer', customer, 'customer', 'customer');
    const pm = paymentMethod ? resolvePaymentMethod(emu, paymentMethod, 'payment_method') : undefined;
    return updateWithEvent(emu, 'setup_intent.updated', si, (x) => {
      if (customer !== undefined) x.customer = customer;
      if (pm) Object.assign(x, { payment_method: pm.id, status: 'requires_confirmation', next_action: null });
      if (description !== undefined) x.description = description;
      if (types !== undefined) x.payment_method_types = types;
      x.metadata = mergeMetadata(x.metadata ?? {}, metadata);
    });
  });

  router.get('/v1/setup_intents', ({ params: p, url }) => {
    const customer = p.string('customer');
    const paymentMethod = p.string('payment_method');
    const created = createdFilter(p);
    p.bool('attach_to_self');
    const list = newestFirst(emu.store.all<SetupIntentRecord>('setup_intent')).filter(
      (si) => (customer === undefined || si.customer === customer) && (paymentMethod === undefined || si.payment_method === paymentMethod) && (!created || created(si.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.post('/v1/setup_intents/:id/confirm', ({ params: p, path }) => {
    const paymentMethod = p.string('payment_method');
    p.string('client_secret');
    readIgnored(p);
    p.done();
    return confirm(requireSi(path.id!), paymentMethod);
  });

  router.post('/v1/setup_intents/:id/cancel', ({ params: p, path }) => {
    const reason = p.enum('cancellation_reason', ['abandoned', 'duplicate', 'requested_by_customer'] as const);
    p.done();
    const si = requireSi(path.id!);
    if (si.status === 'succeeded' || si.status === 'canceled' || si.status === 'processing') {
      throw invalidRequest(`You cannot cancel this SetupIntent because it has a status of ${si.status}.`, undefined, 'setup_intent_unexpected_state');
    }
    Object.assign(si, { status: 'canceled', cancellation_reason: reason ?? null, next_action: null });
    emu.store.changed();
    emu.events.emit('setup_intent.canceled', si);
    return si;
  });
}
