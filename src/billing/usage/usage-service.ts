/**
 * The usage ledger and entitlements behind GraphQL (one per request, with the request's
 * EntityManager and DataLoaders). Reads batch across customers: a list of N customers asking for
 * `usage` or `entitlements` costs one subscriptions statement, one access-state statement and one
 * usage statement, not N of each.
 */
import DataLoader from 'dataloader';
import type { Authentication } from '../../auth/guard.js';
import type { Subscription } from '../../db/entities/subscription.js';
import type { Em } from '../../db/orm.js';
import { badUserInput } from '../../errors.js';
import type { AccessStateValue } from '../access/access-state.js';
import type { Catalog } from '../../catalog.js';
import { readUsageFlushStatus, type LedgerStats } from '../../db/usage-flush-status.js';
import { decideEntitlement, type EntitlementView } from './entitlements.js';
import { catalogIndex } from './metered-customers.js';
import { reportUsage, type UsageRecordView } from './report-usage.js';
import { reportUsageBatch } from './report-usage-batch.js';
import type { UsageInput } from './rules.js';
import { batchUsageQuantities, plansAndMeters, toUsageSummary, usageQuantityCacheKey, type PlanMeterPeriod, type UsageQuantityKey, type UsageSummaryView } from './usage-summary.js';

export interface UsageServiceLoaders {
  subscriptionsByCustomerId: { load(customerId: string): Promise<Subscription[]> };
  /** Shared with `Customer.accessState` (src/graphql/loaders), so a response computes access once. */
  accessStateByCustomerId: { load(customerId: string): Promise<AccessStateValue> };
}

const MAX_FEATURE_LENGTH = 255;

export class UsageService {
  private readonly quantities: DataLoader<UsageQuantityKey, number, string>;

  constructor(
    private readonly em: Em,
    private readonly catalog: Catalog,
    private readonly loaders: UsageServiceLoaders,
    /** Called after new rows reached the ledger (wakes the meter-event flusher). */
    private readonly onRecorded: () => void = () => {},
  ) {
    this.quantities = new DataLoader((keys) => batchUsageQuantities(em, keys), { cacheKeyFn: usageQuantityCacheKey });
  }

  /** How far sending usage to Stripe is behind (the admin view). */
  flushStatus(): Promise<LedgerStats> {
    return readUsageFlushStatus(this.em);
  }

  async report(auth: Authentication, input: UsageInput): Promise<UsageRecordView> {
    const record = await reportUsage({ em: this.em, catalog: this.catalog }, auth, input);
    if (!record.duplicate) this.onRecorded();
    return record;
  }

  async reportBatch(auth: Authentication, inputs: readonly UsageInput[]): Promise<UsageRecordView[]> {
    const records = await reportUsageBatch({ em: this.em, catalog: this.catalog }, auth, inputs);
    if (records.some((r) => !r.duplicate)) this.onRecorded();
    return records;
  }

  /** `Customer.usage(meter)`; the customer is already authorised. An unknown meter id → BAD_USER_INPUT. */
  async usage(customerId: string, meter?: string | null): Promise<UsageSummaryView[]> {
    if (meter !== undefined && meter !== null && !catalogIndex(this.catalog).meters.has(meter)) throw badUserInput('meter', `Unknown meter "${meter}"`);
    const { meters } = await this.planOf(customerId);
    const wanted = meters.filter((m) => !meter || m.meterId === meter);
    const used = await this.usedOf(customerId, wanted);
    return wanted.map((m, i) => toUsageSummary(m, used[i]!));
  }

  /** `Customer.entitlements`: the plan's features, then its meters. */
  async entitlements(customerId: string): Promise<EntitlementView[]> {
    const [{ plans, meters }, access] = await Promise.all([this.planOf(customerId), this.loaders.accessStateByCustomerId.load(customerId)]);
    const features = new Set(plans.flatMap((p) => p.features));
    const used = await this.usedOf(customerId, meters);
    return [
      ...[...features].map((feature) => decideEntitlement({ feature, access, planFeatures: features, meter: null })),
      ...meters.map((m, i) => decideEntitlement({ feature: m.meterId, access, planFeatures: features, meter: meterFacts(m, used[i]!) })),
    ];
  }

  /** `entitlement(feature)`; `customerId` null: a caller with no billing customer yet (nothing is allowed). */
  async entitlement(customerId: string | null, feature: string): Promise<EntitlementView> {
    if (typeof feature !== 'string' || feature.trim() === '' || feature.length > MAX_FEATURE_LENGTH) {
      throw badUserInput('feature', `feature is required: a plan feature or a meter id (1-${MAX_FEATURE_LENGTH} characters)`);
    }
    if (!customerId) return decideEntitlement({ feature, access: 'NONE', planFeatures: new Set(), meter: null });
    const [{ plans, meters }, access] = await Promise.all([this.planOf(customerId), this.loaders.accessStateByCustomerId.load(customerId)]);
    const features = new Set(plans.flatMap((p) => p.features));
    const m = meters.find((x) => x.meterId === feature);
    const used = m ? (await this.usedOf(customerId, [m]))[0]! : 0;
    return decideEntitlement({ feature, access, planFeatures: features, meter: m ? meterFacts(m, used) : null });
  }

  private async planOf(customerId: string) {
    return plansAndMeters(this.catalog, await this.loaders.subscriptionsByCustomerId.load(customerId));
  }

  private async usedOf(customerId: string, meters: readonly PlanMeterPeriod[]): Promise<number[]> {
    return Promise.all(meters.map((m) => this.quantities.load({ customerId, eventName: m.eventName, from: m.periodStart, to: m.periodEnd })));
  }
}

function meterFacts(m: PlanMeterPeriod, used: number) {
  return { included: m.planMeter.included, hardLimit: m.planMeter.limit ?? null, used };
}
