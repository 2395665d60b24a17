import { createPubSub } from '@graphql-yoga/subscription';
import { createClient } from 'graphql-ws';
import { Ctx, Field, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { startTestGateway, type TestGateway } from '../http/harness.js';

// The hook later features use: extra resolver classes and a PubSub passed to the schema builder.
@ObjectType()
class Tick {
  @Field()
  n!: number;

  @Field()
  viewer!: string;
}

const pubSub = createPubSub<{ tick: [number] }>();

@Resolver()
class TickResolver {
  @Subscription(() => Tick, { topics: 'tick' })
  tick(@Root() n: number, @Ctx() ctx: GraphQLContext): Tick {
    return { n, viewer: `${ctx.viewer!.role}:${ctx.viewer!.sub}` };
  }
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({}, { schemaOptions: { resolvers: [TickResolver], pubSub } });
});
afterAll(async () => {
  await gw?.close();
});

describe('subscriptions over graphql-ws', () => {
  it('delivers published events with the viewer of the connection in the context', async () => {
    const client = createClient({
      url: gw.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${await gw.token('user_1')}` },
      retryAttempts: 0,
    });
    const received: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const unsubscribe = client.subscribe(
        { query: 'subscription { tick { n viewer } }' },
        {
          next: (v) => {
            received.push(v);
            if (received.length === 2) {
              unsubscribe();
              resolve();
            }
          },
          error: reject,
          complete: () => {},
        },
      );
    });
    // The subscription registers some time after 'connected', so publish until two events arrive.
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    let n = 0;
    const publisher = setInterval(() => pubSub.publish('tick', ++n), 20);
    try {
      await done;
    } finally {
      clearInterval(publisher);
      await client.dispose();
    }
    expect(received).toHaveLength(2);
    const [first, second] = received as { data: { tick: { n: number; viewer: string } } }[];
    expect(first!.data.tick.viewer).toBe('customer:user_1');
    expect(second!.data.tick.n).toBe(first!.data.tick.n + 1);
  });
});
