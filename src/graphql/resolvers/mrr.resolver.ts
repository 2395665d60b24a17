// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Authorized, Ctx, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { SignalBus } from '../../events/bus.js';
import { TOPICS, type MilestonePayload, type MrrReportPayload } from '../../events/topics.js';
import { toMoney } from '../../money.js';
import type { GraphQLContext } from '../context.js';
import { AppError } from '../errors.js';
import { Milestone } from '../types/billing-event.js';
import { MoneyByPlan, MrrReport } from '../types/mrr.js';
import { toPlanNode } from './plan.resolver.js';

/** The live-signal bus of this server (AppDeps.bus). */
export function signalBusOf(ctx: GraphQLContext): SignalBus {
  const bus = ctx.deps.bus;
  if (!bus) throw new AppError('INTERNAL_SERVER_ERROR', 'Live events are not configured on this server');
  return bus;
}

export async function toMrrReportNode(report: MrrReportPayload, ctx: GraphQLContext): Promise<MrrReport> {
  const byPlan: MoneyByPlan[] = [];
  for (const p of report.byPlan) {
    const plan = await ctx.services.plans.get(p.planId);
    // A plan no longer in the catalog still counts in the totals.
    if (plan) byPlan.push(Object.assign(new MoneyByPlan(), { plan: toPlanNode(plan), mrr: toMoney(p.amount, p.currency), subscriptions: p.subscriptions }));
  }
  return Object.assign(new MrrReport(), {
    asOf: new Date(report.asOf),
    totals: report.totals.map((t) => toMoney(t.amount, t.currency)),
    activeSubscriptions: report.activeSubscriptions,
    byPlan,
    newThisMonth: (report.newThisMonth ?? []).map((m) => toMoney(m.amount, m.currency)),
    churnedThisMonth: (report.churnedThisMonth ?? []).map((m) => toMoney(m.amount, m.currency)),
    netNewThisMonth: (report.netNewThisMonth ?? []).map((m) => toMoney(m.amount, m.currency)),
  });
}

export function toMilestoneNode(m: MilestonePayload): Milestone {
  return Object.assign(new Milestone(), {
    threshold: toMoney(m.threshold.amount, m.threshold.currency),
    mrr: toMoney(m.mrr.amount, m.mrr.currency),
    reachedAt: new Date(m.reachedAt),
  });
}

type SubscribeData = SubscribeResolverData<unknown, Record<string, unknown>, GraphQLContext>;

@Resolver()
export class MrrResolver {
  @Authorized('admin')
  @Query(() => MrrReport, { nullable: true, description: 'Admins only: MRR per currency and plan.' })
  async mrr(@Ctx() ctx: GraphQLContext): Promise<MrrReport> {
    return toMrrReportNode(await ctx.services.mrr.report(), ctx);
  }

  @Authorized('admin')
  @Subscription(() => MrrReport, {
    description: 'Admins only.',
    subscribe: ({ context }: SubscribeData) => signalBusOf(context).pubSub.subscribe(TOPICS.mrrUpdated),
  })
  mrrUpdated(@Root() report: MrrReportPayload, @Ctx() ctx: GraphQLContext): Promise<MrrReport> {
    return toMrrReportNode(report, ctx);
  }

  @Authorized('admin')
  @Subscription(() => Milestone, {
    description: 'Admins only.',
    subscribe: ({ context }: SubscribeData) => signalBusOf(context).pubSub.subscribe(TOPICS.milestoneReached),
  })
  milestoneReached(@Root() milestone: MilestonePayload): Milestone {
    return toMilestoneNode(milestone);
  }
}
