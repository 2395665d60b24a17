// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { RevenuePointData } from '../../billing/metrics/revenue.js';
import { toMoney } from '../../money.js';
import type { GraphQLContext } from '../context.js';
import { MetricInterval, RevenuePoint } from '../types/revenue.js';

export function toRevenuePointNode(p: RevenuePointData): RevenuePoint {
  const money = (amount: number) => toMoney(amount, p.currency);
  return Object.assign(new RevenuePoint(), {
    ...p,
    mrr: money(p.mrr),
    newMrr: money(p.newMrr),
    expansionMrr: money(p.expansionMrr),
    contractionMrr: money(p.contractionMrr),
    churnedMrr: money(p.churnedMrr),
    reactivationMrr: money(p.reactivationMrr),
    netNewMrr: money(p.netNewMrr),
    arpa: money(p.arpa),
  });
}

@Resolver()
export class RevenueResolver {
  @Authorized('admin')
  @Query(() => [RevenuePoint], { nullable: true, description: 'Admins only. One point per interval and currency, oldest first.' })
  async revenue(
    @Ctx() ctx: GraphQLContext,
    @Arg('from', () => Date, { description: 'Start of the range (inclusive).' }) from: Date,
    @Arg('to', () => Date, { description: 'End of the range (exclusive).' }) to: Date,
    @Arg('interval', () => MetricInterval, { nullable: true, defaultValue: MetricInterval.MONTH, description: 'Width of each point.' }) interval: MetricInterval | null,
    @Arg('currency', () => String, { nullable: true, description: 'Only this currency; omitted: every currency.' }) currency?: string | null,
  ): Promise<RevenuePoint[]> {
    const points = await ctx.services.revenue.report({ from, to, interval: interval ?? MetricInterval.MONTH, currency: currency ?? null });
    return points.map(toRevenuePointNode);
  }
}
