// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { ReportUsageRecordsInput, ReportUsageRecordsPayload } from '../inputs/mutation-inputs.js';
import { errorsDoc } from '../types/error-code.js';

/** reportUsageRecords: reportUsageBatch with one input object and a payload. */
@Resolver()
export class UsageRecordsResolver {
  @Authorized('customer', 'admin')
  @Mutation(() => ReportUsageRecordsPayload, {
    nullable: true,
    description:
      'Up to 1,000 records in one transaction, all or nothing (customers for themselves; admins name customerId per record). One UsageRecord per input record, in order (duplicate: true for keys seen before or earlier in the batch). ' +
      'Any bad record fails the call with BAD_USER_INPUT, field input[i].<field>, every bad record in extensions.errors; nothing is stored.' +
      errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND'),
  })
  async reportUsageRecords(@Arg('input', () => ReportUsageRecordsInput, { description: 'The records.' }) input: ReportUsageRecordsInput, @Ctx() ctx: GraphQLContext): Promise<ReportUsageRecordsPayload> {
    return { records: await ctx.services.usage.reportBatch(ctx.auth, input.records) };
  }
}
