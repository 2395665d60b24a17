/**
 * The fan-out core on graphql-ws (`ws` sockets): a `subscribe` for the graphql-ws server options that
 * runs a subscription once per key (operation document, variables, authorisation scope: the caller
 * builds it) and writes the one serialized result to every subscriber's socket as a graphql-ws `next`
 * message, byte for byte what graphql-ws itself would send. Clients see the plain graphql-ws protocol.
 *
 * graphql-ws still owns the protocol: it calls `onSubscribe` (auth, rate limit, validation, then
 * `register` here), then this `subscribe`, and iterates what it returns. For a shared operation that is
 * an iterator that yields nothing and ends when the stream ends (graphql-ws then sends `complete`), throws
 * when it throws (graphql-ws sends `error`), and leaves the key on `return()` (the client's `complete` or a
 * closed socket). A single result (e.g. FORBIDDEN from the subscribe resolver) goes back to graphql-ws as
 * today.
 */
import { subscribe as graphqlSubscribe, type ExecutionArgs, type ExecutionResult } from 'graphql';
import WebSocket from 'ws';
import { createFanoutHub, type FanoutHub, type Membership } from '../hub.js';

export interface SharedOperation {
  /** Operation document + variables + authorisation scope: subscribers with equal keys get the same results. */
  key: string;
  socket: WebSocket;
  /** The graphql-ws subscription id on that socket. */
  id: string;
  /** The context of the one execution, built only when this subscriber opens the key. */
  context(): unknown;
}

export interface SharedSubscriptionsOptions {
  /** The result as the client must receive it (errors formatted): serialized once per key and event. */
  present(result: ExecutionResult): unknown;
  /**
   * Whether a value may be written to `socket` now (default: while it is open). False for a socket
   * being closed as a slow consumer (src/http/fanout/budget.ts): it gets nothing more.
   */
  admit?(socket: WebSocket): boolean;
  /** A send failed. */
  onMissed?(reason: string): void;
}

export interface SharedSubscriptions {
  /** Marks `args` (what `onSubscribe` returns for a subscription) as shared under `op.key`. */
  register(args: ExecutionArgs, op: SharedOperation): void;
  /** For the graphql-ws server options (`subscribe`). */
  subscribe(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult>;
  readonly hub: FanoutHub<ExecutionResult>;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** What graphql-ws iterates for one subscriber of a shared key: the values go straight to the socket, so it yields nothing. */
function membershipIterator(m: Membership): AsyncGenerator<ExecutionResult> {
  const it: AsyncGenerator<ExecutionResult> = {
    next: () => m.ended.then(() => DONE),
    return: async () => {
      m.leave();
      return DONE;
    },
    throw: async () => {
      m.leave();
      return DONE;
    },
    [Symbol.asyncIterator]: () => it,
    [Symbol.asyncDispose]: async () => {
      m.leave();
    },
  };
  return it;
}

export function createSharedSubscriptions(opts: SharedSubscriptionsOptions): SharedSubscriptions {
  const admit = opts.admit ?? (() => true);
  const hub = createFanoutHub<ExecutionResult>({
    serialize: (result) => JSON.stringify(opts.present(result)),
    onDeliverError: (err) => opts.onMissed?.(`send failed: ${(err as Error).message}`),
    onReleaseError: () => undefined,
  });
  const registered = new WeakMap<ExecutionArgs, SharedOperation>();

  return {
    hub,
    register: (args, op) => registered.set(args, op),
    async subscribe(args) {
      const op = registered.get(args);
      if (!op) return graphqlSubscribe(args);
      const { socket } = op;
      // The graphql-ws `next` frame around the shared payload; only the id differs between subscribers.
      const head = `{"id":${JSON.stringify(op.id)},"type":"next","payload":`;
      const joined = await hub.join(op.key, async () => graphqlSubscribe({ ...args, contextValue: op.context() }), {
        deliver: (_result, serialized) => {
          if (socket.readyState !== WebSocket.OPEN || !admit(socket)) return;
          socket.send(head + serialized + '}');
        },
      });
      return joined.kind === 'single' ? joined.value : membershipIterator(joined.membership);
    },
  };
}
