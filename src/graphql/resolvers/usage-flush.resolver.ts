// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Ctx, Field, Float, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { requireAdmin } from '../../auth/guard.js';
import { readUsageFlushStatus } from '../../db/usage-flush-status.js';
import type { GraphQLContext } from '../context.js';

@ObjectType({ description: 'How far sending recorded usage to Stripe as meter events is behind (admin).' })
export class UsageFlushStatus {
  @Field(() => Int, { description: 'Usage records not yet sent to Stripe (parked records excluded).' })
  backlog!: number;

  @Field(() => Int, { description: 'Usage records parked after Stripe rejected them permanently; they are not retried.' })
  parked!: number;

  @Field(() => Float, { description: 'Age in seconds of the oldest record not yet sent (0 when none).' })
  lagSeconds!: number;

  @Field(() => Date, { nullable: true, description: 'When the oldest record not yet sent was recorded (null when none).' })
  oldestUnsentAt!: Date | null;
}

@Resolver()
export class UsageFlushResolver {
  @Query(() => UsageFlushStatus, { nullable: true, description: 'Admins only: the backlog and lag of usage waiting to be sent to Stripe.' })
  async usageFlush(@Ctx() ctx: GraphQLContext): Promise<UsageFlushStatus> {
    requireAdmin(ctx.auth);
    return Object.assign(new UsageFlushStatus(), await readUsageFlushStatus(ctx.em));
  }
}
