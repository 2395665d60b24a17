/**
 * The signal bus: a `@graphql-yoga/subscription` PubSub (what type-graphql subscriptions read).
 * In-process by default; with a Redis URL every publish goes through Redis pub/sub, so each gateway
 * replica hears every event and delivers it to its own WebSocket subscribers.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { TypedEventTarget } from '@graphql-yoga/typed-event-target';
import { Redis } from 'ioredis';
import { logger as rootLogger, type Logger } from '../log.js';
import type { SignalTopics, Topic } from './topics.js';

export type SignalPubSub = PubSub<SignalTopics>;

export interface SignalBus {
  /** Pass as `schemaOptions.pubSub`; subscriptions read from it. */
  readonly pubSub: SignalPubSub;
  /** 'memory' or 'redis'. */
  readonly kind: 'memory' | 'redis';
  publish<K extends Topic>(topic: K, payload: SignalTopics[K][0]): void;
  /** The Redis channel a topic travels on (for operators and tests). */
  channel(topic: Topic): string;
  /** Closes the Redis connections (no-op in process). */
  close(): Promise<void>;
}

export interface SignalBusOptions {
  /** Set: fan out through Redis pub/sub. */
  redisUrl?: string;
  /** Prefix of the Redis channel names (default `billing-gateway:`), so deployments sharing a Redis stay apart. */
  channelPrefix?: string;
  log?: Logger;
}

export const DEFAULT_CHANNEL_PREFIX = 'billing-gateway:';

type AnyEvent = CustomEvent<unknown>;

/** Renames every topic to `prefix + topic` on the way to and from the inner target. */
function prefixTarget(inner: TypedEventTarget<AnyEvent>, prefix: string): TypedEventTarget<AnyEvent> {
  return {
    addEventListener: (type, listener) => inner.addEventListener(prefix + type, listener),
    removeEventListener: (type, listener) => inner.removeEventListener(prefix + type, listener),
    dispatchEvent: (event) => inner.dispatchEvent(new CustomEvent(prefix + event.type, { detail: event.detail })),
  };
}

/**
 * Keeps one subscriber's failure from reaching the publisher: a subscriber more than 1024 events behind
 * makes its Repeater throw on push, which would otherwise escape from the event target (in process, an
 * uncaught exception; with Redis, inside the connection's message handler). That subscriber misses the
 * event (logged); everyone else gets it.
 */
function isolateListeners(inner: TypedEventTarget<AnyEvent>, log: Logger): TypedEventTarget<AnyEvent> {
  type Listener = Parameters<TypedEventTarget<AnyEvent>['addEventListener']>[1];
  const wrapped = new Map<string, WeakMap<object, (event: AnyEvent) => void>>();
  const wrap = (type: string, listener: NonNullable<Listener>) => {
    const byType = wrapped.get(type) ?? new WeakMap();
    wrapped.set(type, byType);
    let w = byType.get(listener);
    if (!w) {
      const call = typeof listener === 'function' ? listener : (e: AnyEvent) => listener.handleEvent(e);
      w = (event: AnyEvent) => {
        try {
          call(event);
        } catch (err) {
          log.warn({ topic: type, err: (err as Error).message }, 'a live subscriber missed a signal');
        }
      };
      byType.set(listener, w);
    }
    return w;
  };
  return {
    addEventListener: (type, listener) => {
      if (listener) inner.addEventListener(type, wrap(type, listener as NonNullable<Listener>));
    },
    removeEventListener: (type, listener) => {
      const w = listener ? wrapped.get(type)?.get(listener as object) : undefined;
      if (w) inner.removeEventListener(type, w);
    },
    dispatchEvent: (event) => inner.dispatchEvent(event),
  };
}

export function createSignalBus(opts: SignalBusOptions = {}): SignalBus {
  const log = (opts.log ?? rootLogger).child({ module: 'signals-bus' });
  const prefix = opts.channelPrefix ?? DEFAULT_CHANNEL_PREFIX;
  if (!opts.redisUrl) {
    const target = new EventTarget();
    // One listener per live subscription: a thousand subscribers are normal, not a leak.
    setMaxListeners(0, target);
    const pubSub = createPubSub<SignalTopics>({ eventTarget: isolateListeners(target as never, log) as never });
    return {
      pubSub,
      kind: 'memory',
      publish: (topic, payload) => pubSub.publish(topic, payload as never),
      channel: (topic) => prefix + topic,
      close: async () => undefined,
    };
  }
  // Two connections: a connection in subscriber mode cannot publish.
  const redisOptions = { maxRetriesPerRequest: null } as const;
  const publishClient = new Redis(opts.redisUrl, redisOptions);
  const subscribeClient = new Redis(opts.redisUrl, redisOptions);
  for (const [name, client] of [['publish', publishClient], ['subscribe', subscribeClient]] as const) {
    // ioredis reconnects by itself; without a listener an error would be an unhandled 'error' event.
    client.on('error', (err: Error) => log.warn({ connection: name, err: err.message }, 'redis connection error'));
  }
  const target = createRedisEventTarget<AnyEvent>({ publishClient, subscribeClient });
  const pubSub = createPubSub<SignalTopics>({ eventTarget: isolateListeners(prefixTarget(target, prefix), log) as never });
  let closing: Promise<void> | undefined;
  return {
    pubSub,
    kind: 'redis',
    publish: (topic, payload) => pubSub.publish(topic, payload as never),
    channel: (topic) => prefix + topic,
    close: () =>
      (closing ??= (async () => {
        await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
      })()),
  };
}
