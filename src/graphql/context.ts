/**
 * The per-request GraphQL context: who is calling, a forked EntityManager (one identity map per
 * request, never shared; forked on first use), the request's DataLoaders (plain-row reads, which
 * need no fork) and the services resolvers call.
 * Later issues add their services to `GatewayServices` and `createServices`.
 */
import { randomUUID } from 'node:crypto';
import type { Authentication } from '../auth/guard.js';
import type { Viewer } from '../auth/tokens.js';
import type { Catalog } from '../catalog.js';
import { InvoiceQueries } from '../billing/invoices/invoice-queries.js';
import { SubscriptionQueries } from '../billing/subscriptions/queries/subscription-queries.js';
import { SubscriptionMrrReads } from '../billing/subscriptions/queries/subscription-mrr-reads.js';
import { createCustomerLoaders, CustomerService, type CustomerLoaders } from '../billing/customers/customer-service.js';
import { createPriceLoaders, PlanService, type PriceLoaders } from '../billing/plans/plan-service.js';
import { MrrReportService } from '../billing/metrics/mrr-report.js';
import { RevenueService } from '../billing/metrics/revenue.js';
import type { Config } from '../config.js';
import type { Em, Orm } from '../db/orm.js';
import type { PlainReader } from '../db/plain-rows.js';
import type Stripe from 'stripe';
import { SubscriptionLifecycleService } from '../billing/subscriptions/lifecycle-service.js';
import type { SignalBus } from '../events/bus.js';
import { createBillingLoaders, type BillingLoaders } from './loaders/billing-loaders.js';
import { UsageService } from '../billing/usage/usage-service.js';
import { StripeCallBudget, withCallBudget } from '../stripe/call-budget.js';
import { ApiKeyService } from '../billing/api-keys/api-key-service.js';
import type { KeyVerifier } from '../billing/api-keys/verify-api-key.js';
import { BillingEventAudience } from '../billing/customers/billing-event-audience.js';
import { ParkedWebhookEvents } from '../billing/webhook-inbox/parked-webhook-events.js';
import { PagesService } from '../billing/pages/pages-service.js';

export type Loaders = CustomerLoaders & PriceLoaders & BillingLoaders;

export interface GatewayServices {
  plans: PlanService;
  customers: CustomerService;
  /** Mirror reads of subscriptions. */
  subscriptionQueries: SubscriptionQueries;
  /** Mirror reads of invoices. */
  invoiceQueries: InvoiceQueries;
  /** The MRR report. */
  mrr: MrrReportService;
  revenue: RevenueService;
  /** Subscribe / change plan / cancel / resume / preview / portal / checkout. */
  lifecycle: SubscriptionLifecycleService;
  /** The usage ledger (reportUsage, Customer.usage) and entitlements. */
  usage: UsageService;
  /** API keys: management and verification. */
  apiKeys: ApiKeyService;
  /** MRR of a subscription and of a customer. */
  subscriptionMrr: SubscriptionMrrReads;
  /** Who receives which live billing event. */
  billingEventAudience: BillingEventAudience;
  /** Webhook events parked after repeated failures (admins). */
  parkedWebhookEvents: ParkedWebhookEvents;
  /** The paged lists (connections) and the reads behind node(id:). */
  pages: PagesService;
}

/** What lives for the whole process and every request needs. */
export interface AppDeps {
  config: Config;
  orm: Orm;
  catalog: Catalog;
  /** Live signals: subscriptions read it; its `pubSub` is also the schema's. */
  bus?: SignalBus;
  /** The Stripe client; absent in tests that need no Stripe. */
  stripe?: Stripe;
  /** Sandbox: the test clock every customer the gateway creates is put on. */
  testClockId?: string;
  /** Wakes the meter-event flusher when usage was recorded, so it need not wait for its poll. */
  onUsageRecorded?: () => void;
  /** The process-wide API key verifier (its caches and counters outlive requests). */
  keyVerifier?: KeyVerifier;
}

export interface GraphQLContext {
  requestId: string;
  /** The verified viewer, or null (see `auth.error` for why a sent token was rejected). */
  viewer: Viewer | null;
  auth: Authentication;
  em: Em;
  loaders: Loaders;
  services: GatewayServices;
  deps: AppDeps;
}

/** The request's DataLoaders (their caches live for one request), reading through `reader`. */
export function createLoaders(reader: PlainReader): Loaders {
  return { ...createCustomerLoaders(reader), ...createPriceLoaders(reader), ...createBillingLoaders(reader) };
}

/**
 * One fork per ORM for the loaders' plain-row SQL: they never touch an identity map (PlainReader),
 * so a request that only reads makes no fork of its own (forking was a visible share of a small
 * read's CPU, bench `read`). Like a request's fork, it has no transaction and ignores async context.
 */
const readers = new WeakMap<Orm, Em>();
function readerOf(orm: Orm): Em {
  let reader = readers.get(orm);
  if (!reader) readers.set(orm, (reader = orm.em.fork()));
  return reader;
}

export function createServices(deps: AppDeps, em: Em, loaders: Loaders): GatewayServices {
  return new LazyServices(deps, () => em, loaders);
}

/**
 * Services built on first use: a request touches one or two of them, and building all of them (and
 * their own helpers) per request was measurable CPU on small reads (bench `read`).
 */
class LazyServices implements GatewayServices {
  #plans?: PlanService;
  #customers?: CustomerService;
  #subscriptionQueries?: SubscriptionQueries;
  #invoiceQueries?: InvoiceQueries;
  #mrr?: MrrReportService;
  #revenue?: RevenueService;
  #lifecycle?: SubscriptionLifecycleService;
  #usage?: UsageService;
  #apiKeys?: ApiKeyService;
  #subscriptionMrr?: SubscriptionMrrReads;
  #billingEventAudience?: BillingEventAudience;
  #parkedWebhookEvents?: ParkedWebhookEvents;
  #pages?: PagesService;

  constructor(
    private readonly deps: AppDeps,
    /** The request's EntityManager, forked when a service first needs it. */
    private readonly emOf: () => Em,
    private readonly loaders: Loaders,
  ) {}

  private get em(): Em {
    return this.emOf();
  }

  get plans(): PlanService {
    return (this.#plans ??= new PlanService(this.deps.catalog, this.loaders));
  }
  get customers(): CustomerService {
    return (this.#customers ??= new CustomerService(() => this.em, this.loaders));
  }
  get subscriptionQueries(): SubscriptionQueries {
    return (this.#subscriptionQueries ??= new SubscriptionQueries(() => this.em, this.loaders));
  }
  get invoiceQueries(): InvoiceQueries {
    return (this.#invoiceQueries ??= new InvoiceQueries(() => this.em, this.loaders));
  }
  get mrr(): MrrReportService {
    return (this.#mrr ??= new MrrReportService(this.em));
  }
  get revenue(): RevenueService {
    return (this.#revenue ??= new RevenueService(this.em));
  }
  get lifecycle(): SubscriptionLifecycleService {
    const { deps } = this;
    return (this.#lifecycle ??= new SubscriptionLifecycleService({
      em: this.em,
      // The request's Stripe calls, counted against its budget (the limits rule checked the fields' declared counts).
      stripe: deps.stripe && withCallBudget(deps.stripe, new StripeCallBudget(deps.config.graphql.maxStripeCalls)),
      catalog: deps.catalog,
      config: deps.config,
      ...(deps.testClockId ? { testClockId: deps.testClockId } : {}),
    }));
  }
  get usage(): UsageService {
    return (this.#usage ??= new UsageService(this.em, this.deps.catalog, this.loaders, this.deps.onUsageRecorded));
  }
  get apiKeys(): ApiKeyService {
    return (this.#apiKeys ??= new ApiKeyService(this.em, this.deps.config.sandbox, this.deps.keyVerifier));
  }
  get subscriptionMrr(): SubscriptionMrrReads {
    return (this.#subscriptionMrr ??= new SubscriptionMrrReads(this.subscriptionQueries, this.loaders, this.deps.catalog.plans[0]?.currency ?? 'usd'));
  }
  get billingEventAudience(): BillingEventAudience {
    return (this.#billingEventAudience ??= new BillingEventAudience(this.em));
  }
  get parkedWebhookEvents(): ParkedWebhookEvents {
    return (this.#parkedWebhookEvents ??= new ParkedWebhookEvents(this.em));
  }
  get pages(): PagesService {
    return (this.#pages ??= new PagesService(() => this.em, this.customers));
  }
}

/**
 * The request's context. The EntityManager fork, the loaders and the services are made on first
 * use: a request that is refused (auth, validation, limits) or reads nothing pays for none of them,
 * and one that reads pays for what it touches.
 */
class RequestContext implements GraphQLContext {
  readonly viewer: Viewer | null;
  /**
   * An own property, not private `#` fields: Apollo runs each operation on a copy of the context
   * (same prototype, own properties copied), and the copy must share the request's fork and loaders.
   */
  private readonly made: { em?: Em; loaders?: Loaders; services?: GatewayServices } = {};

  constructor(
    readonly deps: AppDeps,
    readonly auth: Authentication,
    readonly requestId: string,
  ) {
    this.viewer = auth.viewer;
  }

  get em(): Em {
    return (this.made.em ??= this.deps.orm.em.fork());
  }
  get loaders(): Loaders {
    return (this.made.loaders ??= createLoaders(readerOf(this.deps.orm)));
  }
  get services(): GatewayServices {
    return (this.made.services ??= new LazyServices(this.deps, () => this.em, this.loaders));
  }
}

export function createRequestContext(deps: AppDeps, auth: Authentication, requestId: string = randomUUID()): GraphQLContext {
  return new RequestContext(deps, auth, requestId);
}
