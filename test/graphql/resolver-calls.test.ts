/**
 * What the schema builder does after type-graphql (src/graphql/plain-fields.ts, direct-resolvers.ts)
 * keeps type-graphql's meaning: a plain field is read from its root (a promise in it awaited), a field
 * with `@Authorized` roles is still checked, a field resolver gets its root, arguments (an `@ArgsType`
 * as an instance of its class) and context, and one with roles keeps its check. Over real HTTP.
 */
import { Args, ArgsType, Authorized, Ctx, Field, FieldResolver, Int, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { startTestGateway, type TestGateway } from '../http/harness.js';

@ObjectType()
class Gadget {
  @Field()
  name!: string;

  // Nullable, so that each refusal is reported on its own (a non-null one nulls the parent and hides the other).
  @Authorized('admin')
  @Field(() => String, { nullable: true })
  secret!: string;

  @Field(() => Int)
  count!: number | Promise<number>;
}

@ArgsType()
class LabelArgs {
  @Field(() => String, { nullable: true })
  suffix?: string | null;

  @Field(() => Int, { nullable: true, defaultValue: 1 })
  times?: number | null;
}

@Resolver(() => Gadget)
class GadgetResolver {
  @Query(() => Gadget, { nullable: true })
  gadget(): Gadget {
    return Object.assign(new Gadget(), { name: 'g', secret: 's', count: Promise.resolve(3) });
  }

  @FieldResolver(() => String)
  label(@Root() gadget: Gadget, @Args() args: LabelArgs, @Ctx() ctx: GraphQLContext): string {
    if (!(args instanceof LabelArgs)) throw new Error('args is not a LabelArgs');
    return `${gadget.name}${args.suffix ?? ''}×${args.times}@${ctx.viewer?.role ?? 'anonymous'}`;
  }

  @Authorized('admin')
  @FieldResolver(() => String, { nullable: true })
  guarded(@Root() gadget: Gadget): string {
    return `guarded ${gadget.name}`;
  }
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({}, { schemaOptions: { resolvers: [GadgetResolver] } });
});
afterAll(async () => {
  await gw?.close();
});

describe('fields after the schema builder', () => {
  it('plain fields read (promises awaited), arguments and context passed, roles still checked', async () => {
    const customer = await gw.token('user_x');
    const { body } = await gw.gql('{ gadget { name count label(suffix: "!", times: 2) plain: label guarded secret } }', {}, customer);
    expect(body.data!.gadget).toEqual({ name: 'g', count: 3, label: 'g!×2@customer', plain: 'g×1@customer', guarded: null, secret: null });
    const codes = body.errors!.map((e) => [e.path!.join('.'), e.extensions!.code]).sort();
    expect(codes).toEqual([
      ['gadget.guarded', 'FORBIDDEN'],
      ['gadget.secret', 'FORBIDDEN'],
    ]);

    const admin = await gw.token('ops', { role: 'admin' });
    const ok = await gw.gql('{ gadget { name count label(suffix: "!", times: 2) plain: label guarded secret } }', {}, admin);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data!.gadget).toEqual({ name: 'g', count: 3, label: 'g!×2@admin', plain: 'g×1@admin', guarded: 'guarded g', secret: 's' });
  });

  it('leaves the wrapper on fields with roles and on a property that may hold a promise, clears it on plain ones', () => {
    const fields = (gw.server.schema.getType('Gadget') as import('graphql').GraphQLObjectType).getFields();
    expect(fields.name!.resolve).toBeUndefined();
    // Declared `number | Promise<number>`: a compiled query (src/graphql/jit-queries.ts) awaits only what a resolver returns.
    expect(fields.count!.resolve).toBeDefined();
    expect(fields.secret!.resolve).toBeDefined();
    expect(fields.guarded!.resolve).toBeDefined();
  });
});
