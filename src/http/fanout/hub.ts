/**
 * The fan-out core: one source stream per key, shared by every subscriber that joined under that key.
 * Each value the source yields is serialized once and handed, as the same string, to every subscriber.
 * No I/O and no GraphQL here: the adapter (`use/graphql-ws.ts`) decides what a key is, opens the
 * source (one GraphQL execution) and writes the string to its sockets.
 *
 * Lifecycle of a key: the first `join` opens the source; later joins attach to it (also while it is
 * still opening); the last `leave` returns the source (its listeners are removed) and forgets the key.
 * A source that ends or throws ends every membership the same way. An `open` that yields a single
 * value instead of a stream (e.g. an authorisation error) is shared by whoever joined meanwhile and
 * not kept: the next join opens afresh.
 */

export interface FanoutSubscriber<R> {
  /** Called synchronously for each value, in order; `serialized` is the same string for every subscriber of the key. */
  deliver(value: R, serialized: string): void;
}

export interface Membership {
  /** Resolves when the source ends or this subscriber leaves; rejects when the source throws. */
  readonly ended: Promise<void>;
  /** Idempotent. The last subscriber to leave releases the source. */
  leave(): void;
}

export type JoinResult<R> = { kind: 'stream'; membership: Membership } | { kind: 'single'; value: R };

export interface FanoutHubOptions<R> {
  serialize(value: R): string;
  /** A subscriber's `deliver` threw (the others still get the value). */
  onDeliverError?(err: unknown): void;
  /** A source's `return()` failed while releasing a key. */
  onReleaseError?(err: unknown): void;
}

export interface FanoutHub<R> {
  /**
   * Joins the stream of `key`, opening it with `open()` when the key has none. `open` returns a stream
   * (shared) or a single value (given to this caller and whoever joined while it opened).
   */
  join(key: string, open: () => Promise<AsyncIterable<R> | R>, subscriber: FanoutSubscriber<R>): Promise<JoinResult<R>>;
  /** Keys with a live (or opening) source. */
  readonly keys: number;
  /** Subscribers across all keys. */
  readonly subscribers: number;
}

interface Member<R> {
  subscriber: FanoutSubscriber<R>;
  resolve(): void;
  reject(err: unknown): void;
}

interface Group<R> {
  key: string;
  opening: Promise<AsyncIterable<R> | R>;
  source?: AsyncIterator<R>;
  members: Set<Member<R>>;
  /** Ended, failed or released: joins must open a new group. */
  closed: boolean;
}

function isAsyncIterable<R>(v: AsyncIterable<R> | R): v is AsyncIterable<R> {
  return typeof (v as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

export function createFanoutHub<R>(opts: FanoutHubOptions<R>): FanoutHub<R> {
  const groups = new Map<string, Group<R>>();
  let subscriberCount = 0;

  const forget = (g: Group<R>) => {
    g.closed = true;
    if (groups.get(g.key) === g) groups.delete(g.key);
  };

  const release = (g: Group<R>) => {
    forget(g);
    const ret = g.source?.return?.();
    if (ret) ret.catch((err: unknown) => opts.onReleaseError?.(err));
  };

  /** Ends every membership of a group (source done: resolve; source threw: reject). */
  const finish = (g: Group<R>, err?: unknown) => {
    forget(g);
    const members = [...g.members];
    g.members.clear();
    subscriberCount -= members.length;
    for (const m of members) {
      if (err === undefined) m.resolve();
      else m.reject(err);
    }
  };

  const pump = async (g: Group<R>) => {
    try {
      for (;;) {
        const step = await g.source!.next();
        if (step.done || g.closed) break;
        if (g.members.size === 0) continue;
        const serialized = opts.serialize(step.value);
        for (const m of g.members) {
          try {
            m.subscriber.deliver(step.value, serialized);
          } catch (err) {
            opts.onDeliverError?.(err);
          }
        }
      }
      finish(g);
    } catch (err) {
      finish(g, err);
    }
  };

  const join: FanoutHub<R>['join'] = async (key, open, subscriber) => {
    for (;;) {
      let g = groups.get(key);
      if (!g) {
        g = { key, opening: open(), members: new Set(), closed: false };
        groups.set(key, g);
      }
      let opened: AsyncIterable<R> | R;
      try {
        opened = await g.opening;
      } catch (err) {
        forget(g);
        throw err;
      }
      if (!isAsyncIterable(opened)) {
        forget(g);
        return { kind: 'single', value: opened };
      }
      // The group ended (or was released) between opening and now: open a fresh one.
      if (g.closed) continue;
      const group = g;
      let left = false;
      let member!: Member<R>;
      const ended = new Promise<void>((resolve, reject) => {
        member = { subscriber, resolve, reject };
      });
      group.members.add(member);
      subscriberCount++;
      if (!group.source) {
        group.source = opened[Symbol.asyncIterator]();
        void pump(group);
      }
      return {
        kind: 'stream',
        membership: {
          ended,
          leave() {
            if (left) return;
            left = true;
            if (group.members.delete(member)) {
              subscriberCount--;
              member.resolve();
              if (group.members.size === 0 && !group.closed) release(group);
            }
          },
        },
      };
    }
  };

  return {
    join,
    get keys() {
      return groups.size;
    },
    get subscribers() {
      return subscriberCount;
    },
  };
}
