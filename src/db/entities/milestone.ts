import { defineEntity, p } from '@mikro-orm/core';

/** An MRR milestone reached, once per (currency, threshold): the primary key makes a second firing impossible. */
export const MilestoneSchema = defineEntity({
  name: 'Milestone',
  tableName: 'milestones',
  properties: {
    currency: p.text().primary(),
    /** Minor units. */
    threshold: p.bigint('number').primary(),
    /** MRR (minor units) when it was reached. */
    mrrAmount: p.bigint('number'),
    reachedAt: p.datetime(),
  },
});

export class Milestone extends MilestoneSchema.class {}
MilestoneSchema.setClass(Milestone);
