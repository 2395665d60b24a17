import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { cardError, invalidRequest, missingParam } from '../errors.js';
import { newId } from '../ids.js';
import type { Params } from '../http/params.js';
import { assertRedeemable, findPromotionCode, requireCoupon, type PromotionCodeRecord } from '../resources/coupons.js';
import { liveCustomer, type CustomerRecord } from '../resources/customers.js';
import { cardBehaviour, markAttached, resolvePaymentMethod, type PaymentMethodRecord } from '../resources/payment-methods.js';
import { chargePaymentIntent, newPaymentIntent } from '../resources/payment-intents.js';
import { confirmSetupIntent, createSetupIntent } from '../resources/setup-intents.js';
import type { PriceRecord } from '../resources/prices.js';
import type { Stored } from '../store.js';
import { discountPerLine, priceAmount } from './amounts.js';
import { attachDefaultCard, createCustomer, createSubscription, type PagesContext } from './billing-bridge.js';
import { callApi } from './internal-api.js';
import { readShipping } from '../resources/charges.js';
import { checkRedirectUrl } from './urls.js';

export type CheckoutSessionRecord = Stripe.Checkout.Session & Stored;
export type CheckoutLineItem = Stripe.LineItem;

export const SESSION_KIND = 'checkout.session';
/** Stripe shows `line_items` only when expanded or listed; they are kept beside the session. */
const LINE_ITEMS_KIND = 'checkout.session_line_items';
/** What the session will put on the subscription; Stripe does not show it on the session. */
const SUBSCRIPTION_DATA_KIND = 'checkout.session_subscription_data';

interface StoredLineItems extends Stored {
  items: CheckoutLineItem[];
}
interface StoredSubscriptionData extends Stored {
  trial_period_days: number | null;
  metadata: Record<string, string>;
}

/** What the session puts on the PaymentIntent (`payment` mode) or SetupIntent (`setup` mode) it creates. */
const INTENT_DATA_KIND = 'checkout.session_intent_data';
interface PaymentIntentData {
  description: string | null;
  metadata: Record<string, string>;
  shipping: Stripe.PaymentIntent.Shipping | null;
  setup_future_usage: 'off_session' | 'on_session' | null;
  capture_method: 'automatic' | 'automatic_async' | 'manual' | null;
  receipt_email: string | null;
  statement_descriptor: string | null;
  statement_descriptor_suffix: string | null;
}
interface StoredIntentData extends Stored {
  payment_intent_data: PaymentIntentData | null;
  setup_intent_data: { description: string | null; metadata: Record<string, string> } | null;
}

const DAY = 24 * 3600;

function cleanMetadata(m: Record<string, string | null> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).filter(([, v]) => v !== null)) as Record<string, string>;
}

function readPaymentIntentData(p: Params): PaymentIntentData {
  const data: PaymentIntentData = {
    description: p.string('description') ?? null,
    metadata: cleanMetadata(p.metadata()),
    shipping: readShipping(p.object('shipping')) ?? null,
    setup_future_usage: p.enum('setup_future_usage', ['off_session', 'on_session'] as const) ?? null,
    capture_method: p.enum('capture_method', ['automatic', 'automatic_async', 'manual'] as const) ?? null,
    receipt_email: p.string('receipt_email') ?? null,
    statement_descriptor: p.string('statement_descriptor') ?? null,
    statement_descriptor_suffix: p.string('statement_descriptor_suffix') ?? null,
  };
  p.string('transfer_group');
  p.string('on_behalf_of');
  return data;
}

type PriceData = {
  currency: string;
  product?: string;
  product_data?: { [k: string]: string | string[] | { [k: string]: string | null } };
  unit_amount?: number;
  unit_amount_decimal?: string;
  recurring?: { [k: string]: string | number };
  tax_behavior?: string;
};

/** `line_items[][price_data]`: what `POST /v1/prices` takes for an inline price (checked again there). */
function readPriceData(p: Params): PriceData {
  const currency = p.string('currency', { required: true });
  const product = p.string('product');
  const pd = p.object('product_data');
  const productData = pd ? { name: pd.string('name', { required: true }), description: pd.string('description'), metadata: pd.metadata() ?? undefined, images: pd.strings('images'), tax_code: pd.string('tax_code'), unit_label: pd.string('unit_label') } : undefined;
  const unitAmount = p.int('unit_amount', { min: 0 });
  const unitAmountDecimal = p.decimal('unit_amount_decimal');
  const r = p.object('recurring');
  const recurring = r ? { interval: r.enum('interval', ['day', 'week', 'month', 'year'] as const, { required: true }), ...(r.has('interval_count') ? { interval_count: r.int('interval_count', { min: 1 })! } : {}) } : undefined;
  const taxBehavior = p.enum('tax_behavior', ['exclusive', 'inclusive', 'unspecified'] as const);
  return {
    currency,
    ...(product ? { product } : {}),
    ...(productData ? { product_data: JSON.parse(JSON.stringify(productData)) as PriceData['product_data'] } : {}),
    ...(unitAmount !== undefined ? { unit_amount: unitAmount } : {}),
    ...(unitAmountDecimal !== undefined ? { unit_amount_decimal: unitAmountDecimal } : {}),
    ...(recurring ? { recurring } : {}),
    ...(taxBehavior ? { tax_behavior: taxBehavior } : {}),
  };
}

export function sessionLineItems(emu: Emulator, sessionId: string): CheckoutLineItem[] {
  return emu.store.get<StoredLineItems>(LINE_ITEMS_KIND, sessionId)?.items ?? [];
}

export function sessionSubscriptionData(emu: Emulator, sessionId: string): { trial_period_days: number | null; metadata: Record<string, string> } {
  return emu.store.get<StoredSubscriptionData>(SUBSCRIPTION_DATA_KIND, sessionId) ?? { trial_period_days: null, metadata: {} };
}

/** The coupon a session discount (coupon or promotion code) applies, if it still exists. */
export function couponOf(emu: Emulator, d: { coupon?: unknown; promotion_code?: unknown }): Stripe.Coupon | null {
  const couponId =
    typeof d.coupon === 'string'
      ? d.coupon
      : typeof d.promotion_code === 'string'
        ? (emu.store.get<Stripe.PromotionCode & Stored>('promotion_code', d.promotion_code)?.promotion?.coupon as string | undefined)
        : undefined;
  return couponId ? (emu.store.get<Stripe.Coupon & Stored>('coupon', couponId) ?? null) : null;
}

/** Parses and validates `POST /v1/checkout/sessions`, then stores the new open session. */
export async function createCheckoutSession(ctx: PagesContext, p: Params): Promise<CheckoutSessionRecord> {
  const { emu } = ctx;
  const mode = p.enum('mode', ['payment', 'setup', 'subscription'] as const, { required: true });
  const lineItemParams = p.objects('line_items');
  const lines = (lineItemParams ?? []).map((li, i) => {
    const priceData = li.object('price_data');
    const price = priceData ? undefined : li.string('price', { required: true });
    return { price, priceData: priceData ? readPriceData(priceData) : undefined, quantity: li.int('quantity', { min: 1, max: 999_999 }), param: `line_items[${i}]` };
  });
  const customerId = p.string('customer');
  const customerEmail = p.string('customer_email');
  const successUrl = p.string('success_url');
  const cancelUrl = p.string('cancel_url');
  const clientReferenceId = p.string('client_reference_id');
  const metadata = p.metadata();
  const subscriptionData = p.object('subscription_data');
  const trialPeriodDays = subscriptionData?.int('trial_period_days', { min: 1, max: 730 });
  const subscriptionMetadata = subscriptionData?.metadata();
  const allowPromotionCodes = p.bool('allow_promotion_codes');
  const discountParams = p.objects('discounts');
  const discounts = (discountParams ?? []).map((d) => ({ coupon: d.string('coupon') ?? null, promotion_code: d.string('promotion_code') ?? null }));
  const expiresAtParam = p.int('expires_at', { min: 0 });
  p.enum('ui_mode', ['hosted_page'] as const);
  const locale = p.string('locale');
  const paymentMethodTypes = p.strings('payment_method_types');
  const billingAddressCollection = p.enum('billing_address_collection', ['auto', 'required'] as const);
  const paymentMethodCollection = p.enum('payment_method_collection', ['always', 'if_required'] as const);
  const piData = p.object('payment_intent_data');
  const paymentIntentData = piData ? readPaymentIntentData(piData) : null;
  const siData = p.object('setup_intent_data');
  const setupIntentData = siData ? { description: siData.string('description') ?? null, metadata: cleanMetadata(siData.metadata()) } : null;
  const currencyParam = p.string('currency')?.toLowerCase();
  const customerCreation = p.enum('customer_creation', ['always', 'if_required'] as const);
  p.done();

  if (paymentIntentData && mode !== 'payment') throw invalidRequest('You can only specify `payment_intent_data` in `payment` mode.', 'payment_intent_data');
  if (setupIntentData && mode !== 'setup') throw invalidRequest('You can only specify `setup_intent_data` in `setup` mode.', 'setup_intent_data');
  if (subscriptionData && mode !== 'subscription') throw invalidRequest('You can only specify `subscription_data` in `subscription` mode.', 'subscription_data');
  if (mode === 'setup') {
    if (lines.length > 0) throw invalidRequest('You cannot pass `line_items` in `setup` mode.', 'line_items');
    if (!currencyParam && !customerId) throw missingParam('currency');
  } else if (lines.length === 0) throw missingParam('line_items');
  if (customerId && customerEmail) {
    throw invalidRequest('You may only specify one of these parameters: customer, customer_email.', 'customer_email');
  }
  if (allowPromotionCodes && discounts.length > 0) {
    throw invalidRequest('You may only specify one of these parameters: allow_promotion_codes, discounts.', 'discounts');
  }
  if (discounts.length > 1) throw invalidRequest('You may only specify one discount.', 'discounts');
  checkRedirectUrl(successUrl, 'success_url');
  checkRedirectUrl(cancelUrl, 'cancel_url');
  if (paymentMethodTypes && paymentMethodTypes.some((t) => t !== 'card' && !(t === 'sepa_debit' && mode === 'payment'))) {
    throw invalidRequest('The emulator supports `card` payment methods (and `sepa_debit` in `payment` mode).', 'payment_method_types');
  }
  const customer = customerId ? liveCustomer(emu, customerId, 'customer') : null;
  discounts.forEach((d, i) => {
    if (!!d.coupon === !!d.promotion_code) throw invalidRequest('Specify exactly one of coupon, promotion_code.', `discounts[${i}]`);
    if (d.coupon) assertRedeemable(emu, requireCoupon(emu, d.coupon, `discounts[${i}][coupon]`), undefined, `discounts[${i}][coupon]`);
    if (d.promotion_code) {
      const param = `discounts[${i}][promotion_code]`;
      const promo = emu.store.require<PromotionCodeRecord>('promotion_code', d.promotion_code, 'promotion code', param);
      const couponId = typeof promo.promotion.coupon === 'string' ? promo.promotion.coupon : (promo.promotion.coupon?.id ?? '');
      assertRedeemable(emu, requireCoupon(emu, couponId, param), promo, param);
    }
  });

  for (const l of lines) {
    if (l.priceData && !!l.priceData.product === !!l.priceData.product_data) throw invalidRequest('You must specify exactly one of product, product_data.', `${l.param}[price_data]`);
    if (l.priceData?.product) emu.store.require('product', l.priceData.product, 'product', `${l.param}[price_data][product]`);
    if (l.priceData && (mode === 'subscription') !== !!l.priceData.recurring) {
      throw invalidRequest(mode === 'subscription' ? 'In `subscription` mode, price_data needs `recurring`.' : 'In `payment` mode, price_data cannot be recurring.', `${l.param}[price_data]`);
    }
  }
  // Inline prices (and their products) are created as `POST /v1/prices` would, once the rest is valid.
  const inline = await Promise.all(
    lines.map((l) => (l.priceData ? callApi<PriceRecord>(ctx.router, emu, 'POST', '/v1/prices', { ...l.priceData }) : Promise.resolve(undefined))),
  );
  const prices = lines.map((l, i) => {
    const price = inline[i] ?? emu.store.require<PriceRecord>('price', l.price!, 'price', `${l.param}[price]`);
    if (!price.active) throw invalidRequest(`The price \`${price.id}\` is not active.`, `${l.param}[price]`);
    if (mode === 'payment') {
      if (price.recurring) throw invalidRequest('You must be in `subscription` mode to use recurring prices; `payment` mode takes one-time prices.', `${l.param}[price]`);
      if (l.quantity === undefined) throw missingParam(`${l.param}[quantity]`);
      return price;
    }
    if (!price.recurring) {
      throw invalidRequest('The emulator needs recurring prices in `subscription` mode.', `${l.param}[price]`);
    }
    const metered = price.recurring.usage_type === 'metered';
    if (metered && l.quantity !== undefined) {
      throw invalidRequest('Quantity should not be specified where usage_type is `metered`. Remove quantity from this line item.', `${l.param}[quantity]`);
    }
    if (!metered && l.quantity === undefined) throw missingParam(`${l.param}[quantity]`);
    return price;
  });
  const currency = prices[0]?.currency ?? currencyParam ?? customer?.currency ?? 'usd';
  const interval = prices[0]?.recurring;
  prices.forEach((price, i) => {
    if (price.currency !== currency) throw invalidRequest('All prices must be in the same currency.', `line_items[${i}][price]`);
    if (interval && (price.recurring!.interval !== interval.interval || price.recurring!.interval_count !== interval.interval_count)) {
      throw invalidRequest('All recurring prices must have the same billing interval.', `line_items[${i}][price]`);
    }
  });

  const now = customer ? emu.nowFor(customer) : emu.realNow();
  const expiresAt = expiresAtParam ?? now + DAY;
  if (expiresAt < now + 30 * 60 || expiresAt > now + DAY) {
    throw invalidRequest('The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.', 'expires_at');
  }

  const trial = trialPeriodDays ?? null;
  const id = newId('cs_test', 58);
  const lineItems: CheckoutLineItem[] = lines.map((l, i) => {
    const price = prices[i]!;
    const product = emu.store.get<Stripe.Product & Stored>('product', price.product as string);
    return {
      id: newId('li', 24),
      object: 'item',
      adjustable_quantity: null,
      amount_discount: 0,
      amount_subtotal: 0,
      amount_tax: 0,
      amount_total: 0,
      currency,
      description: product?.name ?? price.nickname ?? null,
      metadata: {},
      price: structuredClone(price) as Stripe.Price,
      quantity: l.quantity ?? null,
    };
  });

  const session = {
    id,
    object: 'checkout.session',
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: allowPromotionCodes ?? null,
    allowed_payment_method_types: null,
    amount_subtotal: 0,
    amount_total: 0,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: billingAddressCollection ?? null,
    cancel_url: cancelUrl ?? null,
    client_reference_id: clientReferenceId ?? null,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: now,
    currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: customer?.id ?? null,
    customer_account: null,
    customer_creation: customer ? null : (customerCreation ?? (mode === 'subscription' ? 'always' : 'if_required')),
    customer_details: null,
    customer_email: customerEmail ?? null,
    discounts: discounts.map((d) => ({ coupon: d.coupon, promotion_code: d.promotion_code })),
    expires_at: expiresAt,
    integration_identifier: null,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: (locale ?? null) as Stripe.Checkout.Session.Locale | null,
    managed_payments: null,
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).filter(([, v]) => v !== null)) as Record<string, string>,
    mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: paymentMethodCollection ?? 'always',
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: paymentMethodTypes ?? ['card'],
    payment_status: mode === 'setup' ? 'no_payment_required' : 'unpaid',
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: null,
    subscription: null,
    success_url: successUrl ?? null,
    tax_id_collection: { enabled: false, required: 'never' },
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted_page',
    url: `${emu.baseUrl}/checkout/${id}`,
    wallet_options: null,
  } satisfies Stripe.Checkout.Session as CheckoutSessionRecord;
  priceSession(emu, session, lineItems, trial);
  emu.store.insert(SESSION_KIND, session);
  emu.store.insert<StoredLineItems>(LINE_ITEMS_KIND, { id, items: lineItems });
  emu.store.insert<StoredSubscriptionData>(SUBSCRIPTION_DATA_KIND, {
    id,
    trial_period_days: trial,
    metadata: Object.fromEntries(Object.entries(subscriptionMetadata ?? {}).filter(([, v]) => v !== null)) as Record<string, string>,
  });
  if (paymentIntentData || setupIntentData) {
    emu.store.insert<StoredIntentData>(INTENT_DATA_KIND, { id, payment_intent_data: paymentIntentData, setup_intent_data: setupIntentData });
  }
  return session;
}

/**
 * Sets what is due today on the line items and the session: nothing during a trial, else the
 * licensed lines less the session's discount (spread over the lines as the first invoice will).
 */
function priceSession(emu: Emulator, session: Stripe.Checkout.Session, items: CheckoutLineItem[], trialDays: number | null): void {
  const subtotals = items.map((li) => (trialDays ? 0 : priceAmount(emu, li.price!, li.quantity ?? 0)));
  const coupon = session.discounts?.[0] ? couponOf(emu, session.discounts[0]) : null;
  const off = discountPerLine(subtotals, coupon, session.currency!);
  items.forEach((li, i) => {
    li.amount_subtotal = subtotals[i]!;
    li.amount_discount = off[i]!;
    li.amount_total = subtotals[i]! - off[i]!;
  });
  const subtotal = subtotals.reduce((a, b) => a + b, 0);
  const discount = off.reduce((a, b) => a + b, 0);
  session.amount_subtotal = subtotal;
  session.amount_total = subtotal - discount;
  session.total_details = { amount_discount: discount, amount_shipping: 0, amount_tax: 0 };
}

/**
 * A customer entered a promotion code on the page of a session created with
 * `allow_promotion_codes`: checks it as Stripe would and reprices the session with it.
 */
export function applyPromotionCode(emu: Emulator, session: CheckoutSessionRecord, code: string): void {
  if (session.status !== 'open') throw invalidRequest('This Checkout Session is no longer open.', undefined, 'checkout_session_not_open');
  if (!session.allow_promotion_codes) throw invalidRequest('This Checkout Session does not accept promotion codes.', 'promotion_code');
  const promo = findPromotionCode(emu, code.trim());
  if (!promo || promo.code.toUpperCase() !== code.trim().toUpperCase()) throw invalidRequest('This code is invalid.', 'promotion_code');
  const couponId = typeof promo.promotion.coupon === 'string' ? promo.promotion.coupon : promo.promotion.coupon?.id;
  const coupon = requireCoupon(emu, couponId ?? '', 'promotion_code');
  assertRedeemable(emu, coupon, promo, 'promotion_code', emu.nowFor(session));
  if (promo.customer && promo.customer !== session.customer) throw invalidRequest('This code is invalid.', 'promotion_code');
  session.discounts = [{ coupon: null, promotion_code: promo.id }];
  priceSession(emu, session, sessionLineItems(emu, session.id), sessionSubscriptionData(emu, session.id).trial_period_days);
  emu.store.changed();
}

/** A session past `expires_at` (on its customer's clock) expires when next looked at, with its event. */
export function refreshExpiry(emu: Emulator, session: CheckoutSessionRecord): CheckoutSessionRecord {
  if (session.status === 'open' && emu.nowFor(session) >= session.expires_at) expireSession(emu, session);
  return session;
}

/** Expires an open session (`checkout.session.expired`, dated `at` when given: the moment it lapsed on a test clock). */
export function expireSession(emu: Emulator, session: CheckoutSessionRecord, at?: number): CheckoutSessionRecord {
  if (session.status !== 'open') {
    throw invalidRequest(`Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`);
  }
  session.status = 'expired';
  session.url = null;
  emu.store.changed();
  emu.events.emit('checkout.session.expired', session, at !== undefined ? { created: at } : {});
  return session;
}

/** Sessions being completed right now: a double submit must not buy twice. */
const completing = new WeakSet<CheckoutSessionRecord>();

/**
 * Completes an open subscription-mode session with a card (a test token such as `pm_card_visa`,
 * or a PaymentMethod id): creates the customer when the session has none, attaches the card as
 * the default, creates the subscription (trial and metadata from `subscription_data`, charging
 * the first invoice), marks the session complete and emits `checkout.session.completed`.
 * A declined card throws its card error before anything is created.
 */
export async function completeCheckout(
  ctx: PagesContext,
  session: CheckoutSessionRecord,
  paymentMethod: string,
  opts: { email?: string } = {},
): Promise<CheckoutSessionRecord> {
  const { emu } = ctx;
  refreshExpiry(emu, session);
  if (session.status !== 'open') {
    throw invalidRequest(`This Checkout Session is no longer open (status: ${session.status}).`, undefined, 'checkout_session_not_open');
  }
  if (completing.has(session)) throw invalidRequest('This Checkout Session is already being completed.', undefined, 'checkout_session_not_open');
  completing.add(session);
  try {
    const pm = resolvePaymentMethod(emu, paymentMethod, 'payment_method');
    // Both test cards that fail are refused before anything is created, so a failed checkout
    // leaves no customer or subscription behind (a card that attaches but cannot be charged only
    // fails when something is due today).
    const behaviour = cardBehaviour(pm);
    if (behaviour === 'declined' || (behaviour === 'fails_after_attach' && (session.amount_total ?? 0) > 0)) {
      throw cardError('Your card was declined.', 'generic_decline', { param: 'payment_method' });
    }
    if (session.mode !== 'subscription') return await completeWithoutSubscription(ctx, session, pm, opts);
    const customer =
      typeof session.customer === 'string'
        ? liveCustomer(emu, session.customer, 'customer')
        : await createCustomer(ctx, { email: session.customer_email ?? opts.email ?? null });
    attachDefaultCard(ctx, customer.id, pm.id);
    const data = sessionSubscriptionData(emu, session.id);
    const subscription = createSubscription(ctx, {
      customer: customer.id,
      items: sessionLineItems(emu, session.id).map((li) => ({ price: li.price!.id, quantity: li.quantity })),
      defaultPaymentMethod: pm.id,
      trialPeriodDays: data.trial_period_days ?? undefined,
      metadata: data.metadata,
      discounts: (session.discounts ?? []).map((d) => ({
        coupon: typeof d.coupon === 'string' ? d.coupon : (d.coupon?.id ?? null),
        promotion_code: typeof d.promotion_code === 'string' ? d.promotion_code : (d.promotion_code?.id ?? null),
      })),
    });
    const latestInvoice = subscription.latest_invoice;
    const fresh = emu.store.get<CustomerRecord>('customer', customer.id) ?? customer;
    session.payment_status = (session.amount_total ?? 0) > 0 ? 'paid' : 'no_payment_required';
    session.customer = customer.id;
    session.subscription = subscription.id;
    session.invoice = typeof latestInvoice === 'string' ? latestInvoice : (latestInvoice?.id ?? null);
    return markComplete(emu, session, { address: null, email: fresh.email ?? null, name: fresh.name ?? null, phone: fresh.phone ?? null });
  } finally {
    completing.delete(session);
  }
}

/**
 * Completes a `payment` session (a PaymentIntent for the session's total from `payment_intent_data`,
 * charged on the card: `payment_intent.created`, the charge events, `payment_intent.succeeded`) or a
 * `setup` session (a SetupIntent that saves the card: `setup_intent.created`, `setup_intent.succeeded`),
 * then `checkout.session.completed`. A customer is created when the session must have one
 * (`customer_creation: always`, or a card saved for later). The customer is on the page, so a card
 * that needs 3-D Secure counts as authenticated there.
 */
async function completeWithoutSubscription(
  ctx: PagesContext,
  session: CheckoutSessionRecord,
  pm: PaymentMethodRecord,
  opts: { email?: string },
): Promise<CheckoutSessionRecord> {
  const { emu } = ctx;
  const data = emu.store.get<StoredIntentData>(INTENT_DATA_KIND, session.id);
  const piData = data?.payment_intent_data ?? null;
  const email = session.customer_email ?? opts.email ?? pm.billing_details.email ?? null;
  const needsCustomer = session.customer_creation === 'always' || session.mode === 'setup' || !!piData?.setup_future_usage;
  const customer =
    typeof session.customer === 'string'
      ? liveCustomer(emu, session.customer, 'customer')
      : needsCustomer
        ? await createCustomer(ctx, { email })
        : null;
  if (session.mode === 'payment') {
    const pi = newPaymentIntent(emu, {
      amount: session.amount_total ?? 0,
      currency: session.currency!,
      created: emu.nowFor(session),
      customer: customer?.id ?? null,
      description: piData?.description ?? null,
      metadata: piData?.metadata ?? {},
      shipping: piData?.shipping ?? null,
      setup_future_usage: piData?.setup_future_usage ?? null,
      capture_method: piData?.capture_method ?? 'automatic',
      receipt_email: piData?.receipt_email ?? null,
      statement_descriptor: piData?.statement_descriptor ?? null,
      statement_descriptor_suffix: piData?.statement_descriptor_suffix ?? null,
      payment_method: pm.id,
      payment_method_types: session.payment_method_types,
      status: 'requires_confirmation',
    });
    emu.events.emit('payment_intent.created', pi);
    if (customer && piData?.setup_future_usage) markAttached(emu, pm, customer.id);
    if (!session.payment_method_types.includes(pm.type)) {
      throw invalidRequest(`This Checkout Session does not accept ${pm.type} payment methods.`, 'payment_method');
    }
    // A bank debit completes the session unpaid; its settlement follows as an async payment event.
    const outcome = chargePaymentIntent(emu, pi, pm, 'authenticated', {
      onSettled: (_pi, ok) => {
        session.payment_status = ok ? 'paid' : 'unpaid';
        emu.store.changed();
        emu.events.emit(ok ? 'checkout.session.async_payment_succeeded' : 'checkout.session.async_payment_failed', session);
      },
    });
    if (!outcome.ok) {
      // The session stays open for another card, as on Stripe's page.
      const error = outcome.requiresAction ? null : outcome.error;
      throw cardError(error?.message ?? 'Your card was declined.', error?.decline_code ?? 'generic_decline', { param: 'payment_method' });
    }
    session.payment_intent = pi.id;
    session.payment_status = pi.status === 'succeeded' ? 'paid' : 'unpaid';
  } else {
    const si = createSetupIntent(emu, {
      customer: customer?.id ?? null,
      description: data?.setup_intent_data?.description ?? null,
      metadata: data?.setup_intent_data?.metadata ?? {},
      paymentMethod: pm.id,
    });
    confirmSetupIntent(emu, si, pm, true);
    session.setup_intent = si.id;
    session.payment_status = 'no_payment_required';
  }
  if (customer) session.customer = customer.id;
  return markComplete(emu, session, {
    address: pm.billing_details.address ?? null,
    email: customer?.email ?? email,
    name: customer?.name ?? pm.billing_details.name ?? null,
    phone: customer?.phone ?? pm.billing_details.phone ?? null,
  });
}

/** The session is paid for (or the card saved): `complete` with who did it, `checkout.session.completed`. */
function markComplete(
  emu: Emulator,
  session: CheckoutSessionRecord,
  who: { address: Stripe.Address | null; email: string | null; name: string | null; phone: string | null },
): CheckoutSessionRecord {
  session.status = 'complete';
  session.customer_details = { ...who, business_name: null, individual_name: null, tax_exempt: 'none', tax_ids: [] };
  session.collected_information = { business_name: null, individual_name: null, shipping_details: null };
  session.url = null;
  emu.store.changed();
  emu.events.emit('checkout.session.completed', session);
  return session;
}

/** `success_url` with Stripe's `{CHECKOUT_SESSION_ID}` template variable filled in. */
export function successUrlFor(session: Stripe.Checkout.Session): string | null {
  return session.success_url ? session.success_url.replaceAll('{CHECKOUT_SESSION_ID}', session.id) : null;
}
