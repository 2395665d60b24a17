import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import { newId } from '../ids.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newestFirst, paginate } from '../list.js';
import { mergeMetadata, updateWithEvent } from '../resources/common.js';
import { liveCustomer } from '../resources/customers.js';
import type { Stored } from '../store.js';
import { checkRedirectUrl } from './urls.js';

export type PortalSessionRecord = Stripe.BillingPortal.Session & Stored;
export type PortalConfigurationRecord = Stripe.BillingPortal.Configuration & Stored;

export const PORTAL_SESSION_KIND = 'billing_portal.session';
export const PORTAL_CONFIGURATION_KIND = 'billing_portal.configuration';

const CANCEL_REASONS = ['customer_service', 'low_quality', 'missing_features', 'other', 'switched_service', 'too_complex', 'too_expensive', 'unused'];

/** Stripe's defaults for a portal configuration; `features` params override them one by one. */
function defaultFeatures(): Stripe.BillingPortal.Configuration.Features {
  return {
    customer_update: { allowed_updates: ['email', 'address'], enabled: true },
    invoice_history: { enabled: true },
    payment_method_update: { enabled: true, payment_method_configuration: null },
    subscription_cancel: {
      cancellation_reason: { enabled: false, feedback_options: null, options: CANCEL_REASONS },
      enabled: true,
      mode: 'at_period_end',
      proration_behavior: 'none',
    },
    subscription_pause: { duration: { interval_options: [], type: 'indefinite' }, enabled: false },
    subscription_update: {
      billing_cycle_anchor: null,
      default_allowed_updates: [],
      enabled: false,
      products: [],
      proration_behavior: 'create_prorations',
      schedule_at_period_end: { conditions: [] },
      trial_update_behavior: 'end_trial',
    },
  };
}

/** A string array that Stripe lets you clear with an empty value (`Emptyable<string[]>`): [] when cleared. */
function emptyableStrings(p: Params, key: string): string[] | undefined {
  if (!p.isEmpty(key)) return p.strings(key);
  p.string(key); // marks it read
  return [];
}

/**
 * Reads the `features[…]` params of a configuration create/update into `features`. The page acts
 * on invoice_history, payment_method_update and subscription_cancel; the others are stored as given.
 */
function readFeatures(fp: Params, features: Stripe.BillingPortal.Configuration.Features): void {
  const cu = fp.object('customer_update');
  if (cu) {
    const enabled = cu.bool('enabled');
    const allowed = emptyableStrings(cu, 'allowed_updates');
    if (enabled !== undefined) features.customer_update.enabled = enabled;
    if (allowed !== undefined) features.customer_update.allowed_updates = allowed;
  }
  const ih = fp.object('invoice_history');
  if (ih) features.invoice_history.enabled = ih.bool('enabled') ?? features.invoice_history.enabled;
  const pmu = fp.object('payment_method_update');
  if (pmu) {
    features.payment_method_update.enabled = pmu.bool('enabled') ?? features.payment_method_update.enabled;
    const configuration = pmu.nullableString('payment_method_configuration');
    if (configuration !== undefined) features.payment_method_update.payment_method_configuration = configuration;
  }
  const sc = fp.object('subscription_cancel');
  if (sc) {
    const f = features.subscription_cancel;
    f.enabled = sc.bool('enabled') ?? f.enabled;
    f.mode = sc.enum('mode', ['at_period_end', 'immediately'] as const) ?? f.mode;
    f.proration_behavior = sc.enum('proration_behavior', ['always_invoice', 'create_prorations', 'none'] as const) ?? f.proration_behavior;
    const reason = sc.object('cancellation_reason');
    if (reason) {
      f.cancellation_reason.enabled = reason.bool('enabled') ?? f.cancellation_reason.enabled;
      f.cancellation_reason.options = emptyableStrings(reason, 'options') ?? f.cancellation_reason.options;
    }
  }
  const sp = fp.object('subscription_pause');
  if (sp) features.subscription_pause.enabled = sp.bool('enabled') ?? features.subscription_pause.enabled;
  const su = fp.object('subscription_update');
  if (su) {
    const f = features.subscription_update;
    f.enabled = su.bool('enabled') ?? f.enabled;
    const allowed = emptyableStrings(su, 'default_allowed_updates');
    if (allowed !== undefined) f.default_allowed_updates = allowed;
    f.proration_behavior = su.enum('proration_behavior', ['always_invoice', 'create_prorations', 'none'] as const) ?? f.proration_behavior;
    f.billing_cycle_anchor = su.enum('billing_cycle_anchor', ['now', 'unchanged'] as const) ?? f.billing_cycle_anchor;
    const cleared = su.isEmpty('products');
    const products = su.objects('products'); // undefined when cleared with an empty value
    if (cleared) f.products = [];
    if (products) {
      f.products = products.map((pp) => ({
        adjustable_quantity: { enabled: false, maximum: null, minimum: 0 },
        prices: pp.strings('prices') ?? [],
        product: pp.string('product', { required: true }),
      }));
    }
  }
}

function readBusinessProfile(p: Params, profile: Stripe.BillingPortal.Configuration.BusinessProfile): void {
  const bp = p.object('business_profile');
  if (!bp) return;
  const headline = bp.nullableString('headline');
  if (headline !== undefined) profile.headline = headline;
  profile.privacy_policy_url = bp.string('privacy_policy_url') ?? profile.privacy_policy_url;
  profile.terms_of_service_url = bp.string('terms_of_service_url') ?? profile.terms_of_service_url;
}

function newConfiguration(emu: Emulator, isDefault: boolean): PortalConfigurationRecord {
  const now = emu.realNow();
  return {
    id: newId('bpc', 24),
    object: 'billing_portal.configuration',
    active: true,
    application: null,
    business_profile: { headline: null, privacy_policy_url: null, terms_of_service_url: null },
    created: now,
    default_return_url: null,
    features: defaultFeatures(),
    is_default: isDefault,
    livemode: false,
    login_page: { enabled: false, url: null },
    metadata: {},
    name: null,
    updated: now,
  } satisfies Stripe.BillingPortal.Configuration as PortalConfigurationRecord;
}

/**
 * The configuration a session without `configuration` uses. Stripe asks for one to be saved in
 * the Dashboard first; the emulator creates Stripe's default the first time one is needed.
 */
export function defaultConfiguration(emu: Emulator): PortalConfigurationRecord {
  const existing = emu.store.all<PortalConfigurationRecord>(PORTAL_CONFIGURATION_KIND).find((c) => c.is_default);
  if (existing) return existing;
  const config = newConfiguration(emu, true);
  emu.store.insert(PORTAL_CONFIGURATION_KIND, config);
  emu.events.emit('billing_portal.configuration.created', config);
  return config;
}

export function portalConfigurationOf(emu: Emulator, session: PortalSessionRecord): PortalConfigurationRecord {
  const id = typeof session.configuration === 'string' ? session.configuration : session.configuration.id;
  return emu.store.get<PortalConfigurationRecord>(PORTAL_CONFIGURATION_KIND, id) ?? defaultConfiguration(emu);
}

/** Accepts any nested value under a param Stripe defines but the emulator does not act on (`flow_data`). */
function acceptAnything(p: Params): void {
  for (const [key, value] of Object.entries(p.raw)) {
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v === 'string')) p.strings(key);
      else for (const child of p.objects(key) ?? []) acceptAnything(child);
    } else if (value && typeof value === 'object') acceptAnything(p.object(key)!);
    else p.string(key);
  }
}

/** The plain settings a configuration's create and update both take. */
function readSettings(p: Params) {
  return {
    defaultReturnUrl: p.nullableString('default_return_url'),
    name: p.nullableString('name'),
    metadata: p.metadata(),
    loginEnabled: p.object('login_page')?.bool('enabled'),
  };
}

export function registerPortalApi(router: Router, emu: Emulator): void {
  router.post('/v1/billing_portal/configurations', ({ params: p }) => {
    const config = newConfiguration(emu, false);
    readFeatures(p.object('features', { required: true }), config.features);
    readBusinessProfile(p, config.business_profile);
    const { defaultReturnUrl, name, metadata, loginEnabled } = readSettings(p);
    p.done();
    checkRedirectUrl(defaultReturnUrl, 'default_return_url');
    config.default_return_url = defaultReturnUrl ?? null;
    config.name = name ?? null;
    config.metadata = mergeMetadata({}, metadata);
    if (loginEnabled) config.login_page = { enabled: true, url: `${emu.baseUrl}/portal/login/${config.id}` };
    emu.store.insert(PORTAL_CONFIGURATION_KIND, config);
    emu.events.emit('billing_portal.configuration.created', config);
    return config;
  });

  router.get('/v1/billing_portal/configurations/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require<PortalConfigurationRecord>(PORTAL_CONFIGURATION_KIND, path.id!, 'configuration');
  });

  router.post('/v1/billing_portal/configurations/:id', ({ params: p, path }) => {
    const config = emu.store.require<PortalConfigurationRecord>(PORTAL_CONFIGURATION_KIND, path.id!, 'configuration');
    const active = p.bool('active');
    const features = structuredClone(config.features);
    const fp = p.object('features');
    if (fp) readFeatures(fp, features);
    const profile = structuredClone(config.business_profile);
    readBusinessProfile(p, profile);
    const { defaultReturnUrl, name, metadata, loginEnabled } = readSettings(p);
    p.done();
    checkRedirectUrl(defaultReturnUrl, 'default_return_url');
    if (active === false && config.is_default) throw invalidRequest('You cannot deactivate the default configuration.', 'active');
    return updateWithEvent(emu, 'billing_portal.configuration.updated', config, (c) => {
      if (active !== undefined) c.active = active;
      c.features = features;
      c.business_profile = profile;
      if (defaultReturnUrl !== undefined) c.default_return_url = defaultReturnUrl;
      if (name !== undefined) c.name = name;
      c.metadata = mergeMetadata((c.metadata ?? {}) as Record<string, string>, metadata);
      if (loginEnabled !== undefined) c.login_page = { enabled: loginEnabled, url: loginEnabled ? `${emu.baseUrl}/portal/login/${c.id}` : null };
      c.updated = emu.realNow();
    });
  });

  router.get('/v1/billing_portal/configurations', ({ params: p, url }) => {
    const active = p.bool('active');
    const isDefault = p.bool('is_default');
    const list = newestFirst(emu.store.all<PortalConfigurationRecord>(PORTAL_CONFIGURATION_KIND)).filter(
      (c) => (active === undefined || c.active === active) && (isDefault === undefined || c.is_default === isDefault),
    );
    const result = paginate(list, p, url);
    p.done();
    return result;
  });

  router.post('/v1/billing_portal/sessions', ({ params: p }) => {
    const customerId = p.string('customer', { required: true });
    const returnUrl = p.string('return_url');
    const configurationId = p.string('configuration');
    const flowData = p.object('flow_data');
    if (flowData) acceptAnything(flowData); // accepted, not acted on: the page always shows the portal home
    const locale = p.string('locale');
    const onBehalfOf = p.string('on_behalf_of');
    p.done();
    checkRedirectUrl(returnUrl, 'return_url');
    const customer = liveCustomer(emu, customerId, 'customer');
    const config = configurationId
      ? emu.store.require<PortalConfigurationRecord>(PORTAL_CONFIGURATION_KIND, configurationId, 'configuration', 'configuration')
      : defaultConfiguration(emu);
    if (!config.active) throw invalidRequest(`The configuration ${config.id} is not active.`, 'configuration');
    const id = newId('bps', 24);
    const session = {
      id,
      object: 'billing_portal.session',
      configuration: config.id,
      created: emu.nowFor(customer),
      customer: customer.id,
      customer_account: null,
      flow: null,
      livemode: false,
      locale: (locale ?? null) as Stripe.BillingPortal.Session.Locale | null,
      on_behalf_of: onBehalfOf ?? null,
      return_url: returnUrl ?? config.default_return_url ?? null,
      url: `${emu.baseUrl}/portal/${id}`,
    } satisfies Stripe.BillingPortal.Session as PortalSessionRecord;
    emu.store.insert(PORTAL_SESSION_KIND, session);
    emu.events.emit('billing_portal.session.created', session);
    return session;
  });
}
