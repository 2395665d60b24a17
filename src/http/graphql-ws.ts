/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's `/graphql` path.
 * The token comes in `connection_init` (`connectionParams.authorization: "Bearer <jwt>"`). Close
 * codes (WS_CLOSE): a missing, malformed or forged token 4401, which the standard graphql-ws client
 * treats as fatal; an expired one 4419, which it retries, calling `connectionParams` again for a
 * fresh token. Resources are bounded per token (sockets), per socket (operations) and in total
 * (unsent bytes: slow consumers are closed), and nothing is kept once a socket closes.
 */
import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, specifiedRules, NoSchemaIntrospectionCustomRule, type ExecutionArgs, type ExecutionResult, type GraphQLSchema, type ValidationRule } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authentication } from '../auth/guard.js';
import { TokenExpiredError, type TokenVerifier } from '../auth/tokens.js';
import { createRequestContext, type AppDeps } from '../graphql/context.js';
import { AppError, formatGatewayError, rateLimited } from '../graphql/errors.js';
import { checkQueryLimits } from '../graphql/limits.js';
import { checkStorableInput } from '../graphql/storable-input.js';
import type { Logger } from '../log.js';
import { createBufferBudget } from './fanout/budget.js';
import { createDocumentCache } from './fanout/document-cache.js';
import { createSharedSubscriptions } from './fanout/use/graphql-ws.js';
import { liveSubscribers, registerFanoutHub, wsLimitedTotal } from './metrics.js';
import type { RequestRateLimiter } from './rate-limit.js';

/**
 * Close codes. graphql-ws's client (v6) gives up on 4401 (and 4400, 4406, 4409, 4429, 4500, most
 * 1xxx) and reconnects on any other 4xxx, so only what a retry cannot fix is 4401.
 */
export const WS_CLOSE = {
  /** Missing, malformed or forged token: fatal for the client. */
  unauthorized: 4401,
  /** A genuine token whose exp passed (at connect, or on an open socket): the client reconnects with fresh connectionParams. */
  tokenExpired: 4419,
  /** The token's subject already has WS_MAX_SOCKETS_PER_TOKEN sockets open: retried, it gets in once one closes. */
  tooManySockets: 4430,
  /** More unsent bytes than WS_MAX_BUFFERED_BYTES_PER_SOCKET, or than its share of WS_MAX_BUFFERED_BYTES. */
  slowConsumer: 4413,
} as const;
/** setTimeout's ceiling (~24.8 days); sockets of tokens valid longer than that are not timed out. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * A slow consumer's close frame waits behind what it has not read; if it has not read up to it by
 * then, the connection is cut, so its unsent bytes are freed even when the client never reads.
 */
const SLOW_CONSUMER_CLOSE_GRACE_MS = 5_000;

type WsExtra = { auth?: Authentication };

export interface GraphqlWsOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  deps: AppDeps;
  verifier: TokenVerifier;
  rateLimiter: RequestRateLimiter;
  log: Logger;
}

function formatErrors(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((e) => {
    const f = formatGatewayError(e.toJSON(), e);
    return new GraphQLError(f.message, { path: f.path, extensions: f.extensions });
  });
}

/** The result as a client receives it: errors formatted (no internals), nothing else changed. */
function present(r: ExecutionResult): ExecutionResult | Omit<ExecutionResult, 'errors'> & { errors: GraphQLError[] } {
  return r.errors?.length ? { ...r, errors: formatErrors(r.errors) } : r;
}

/**
 * Who a subscription runs as: subscribers with the same viewer see exactly the same events (the
 * resolvers authorise by role and sub; email is included so nothing a resolver could read differs).
 */
const scopeOf = (auth: Authentication) => JSON.stringify([auth.viewer?.role ?? null, auth.viewer?.sub ?? null, auth.viewer?.email ?? null]);

/** What the WebSocket side holds now: every count returns to 0 when the sockets are gone. */
export interface WebSocketStats {
  /** Authenticated sockets open (tracked by the unsent-bytes budget). */
  readonly sockets: number;
  /** Token subjects with sockets open. */
  readonly tokens: number;
  /** Unsent bytes over all sockets, as last seen. */
  readonly bufferedBytes: number;
  /** Sockets closed as slow consumers since start. */
  readonly slowConsumersClosed: number;
}

export interface GraphqlWs {
  wsServer: WebSocketServer;
  /** Live shared subscription executions (one per operation, variables and viewer) and their subscribers. */
  fanout: { readonly keys: number; readonly subscribers: number };
  websockets: WebSocketStats;
  dispose(): Promise<void>;
}

export function attachGraphqlWs(opts: GraphqlWsOptions): GraphqlWs {
  const { deps, schema, verifier, rateLimiter, log } = opts;
  const limits = deps.config.websocket;
  const wsServer = new WebSocketServer({ server: opts.httpServer, path: opts.path, maxPayload: deps.config.bodyLimitBytes });
  const rules: ValidationRule[] = [...specifiedRules];
  if (deps.config.isProduction) rules.push(NoSchemaIntrospectionCustomRule);
  const documents = createDocumentCache(schema, rules, { maxTokens: deps.config.graphql.maxTokens, hideSuggestions: deps.config.isProduction });
  let slowConsumersClosed = 0;
  const budget = createBufferBudget<WebSocket>({
    total: limits.maxBufferedBytes,
    perSocket: limits.maxBufferedBytesPerSocket,
    evict: (socket, reason) => {
      slowConsumersClosed++;
      wsLimitedTotal.inc({ limit: 'slow_consumer' });
      log.warn({ reason }, 'closing a slow WebSocket consumer');
      socket.close(WS_CLOSE.slowConsumer, reason);
      const cut = setTimeout(() => socket.terminate(), SLOW_CONSUMER_CLOSE_GRACE_MS);
      cut.unref();
      socket.once('close', () => clearTimeout(cut));
    },
  });
  // Open sockets per token subject; an entry goes when its last socket closes.
  const socketsPerSub = new Map<string, number>();
  // Subscriptions execute once per (document, variables, viewer) and every subscriber gets the same bytes.
  const shared = createSharedSubscriptions({
    present,
    admit: (socket) => budget.admit(socket),
    onMissed: (reason) => log.warn({ reason }, 'a live subscriber missed a signal'),
  });
  const unregisterHub = registerFanoutHub(shared.hub);

  const cleanup = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const { socket } = ctx.extra;
        try {
          if (typeof header !== 'string' || header.trim() === '') throw new AppError('UNAUTHENTICATED', 'Missing token');
          const verified = await verifier.verifyAuthorizationWithExpiry(header);
          if (!verified) throw new AppError('UNAUTHENTICATED', 'Missing token');
          // The socket may have closed while the token was checked: count and track only a live one.
          if (socket.readyState !== socket.OPEN) return false;
          const { sub } = verified.viewer;
          const open = socketsPerSub.get(sub) ?? 0;
          if (limits.maxSocketsPerToken > 0 && open >= limits.maxSocketsPerToken) {
            wsLimitedTotal.inc({ limit: 'sockets_per_token' });
            socket.close(WS_CLOSE.tooManySockets, `Too many sockets for this token: the limit is ${limits.maxSocketsPerToken}`);
            return false;
          }
          socketsPerSub.set(sub, open + 1);
          budget.add(socket);
          socket.once('close', () => {
            budget.delete(socket);
            const left = (socketsPerSub.get(sub) ?? 1) - 1;
            if (left > 0) socketsPerSub.set(sub, left);
            else socketsPerSub.delete(sub);
          });
          ctx.extra.auth = { viewer: verified.viewer };
          const ms = verified.expiresAt ? verified.expiresAt.getTime() - Date.now() : Infinity;
          if (ms <= MAX_TIMER_MS) {
            // A token's validity ends with its exp, also on a long-lived socket; the client may reconnect with a fresh one.
            const timer = setTimeout(() => socket.close(WS_CLOSE.tokenExpired, 'Token expired'), Math.max(ms, 0));
            timer.unref();
            socket.once('close', () => clearTimeout(timer));
          }
          liveSubscribers.inc();
          return true;
        } catch (err) {
          if (err instanceof TokenExpiredError) socket.close(WS_CLOSE.tokenExpired, err.message);
          else socket.close(WS_CLOSE.unauthorized, (err instanceof AppError ? err.message : 'Unauthorized').slice(0, 120));
          return false;
        }
      },
      onDisconnect: () => {
        liveSubscribers.dec();
      },
      onSubscribe: async (ctx, id, payload) => {
        const auth = ctx.extra.auth!;
        // graphql-ws lists this operation already; it drops it again when it is answered or completed.
        if (limits.maxSubscriptionsPerSocket > 0 && Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerSocket) {
          wsLimitedTotal.inc({ limit: 'subscriptions_per_socket' });
          return [
            new GraphQLError(`Too many subscriptions on this socket: the limit is ${limits.maxSubscriptionsPerSocket}`, {
              extensions: { code: 'RATE_LIMITED', limit: 'subscriptionsPerSocket', max: limits.maxSubscriptionsPerSocket },
            }),
          ];
        }
        const decision = await rateLimiter.consume(auth.viewer, ctx.extra.request.socket.remoteAddress);
        if (!decision.allowed) {
          const e = rateLimited(decision.retryAfterSeconds);
          return [new GraphQLError(e.message, { extensions: e.extensions })];
        }
        const cached = documents.get(payload.query);
        if (cached.errors) return [...cached.errors];
        const { document } = cached;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError('Unknown or ambiguous operation name', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })];
        const limited = checkQueryLimits(schema, document, operation, payload.variables ?? undefined, deps.config.graphql);
        if (limited.length)
          return limited.map((e) => {
            const { http: _status, ...extensions } = e.extensions;
            return new GraphQLError(e.message, { extensions });
          });
        const unstorable = checkStorableInput(document, payload.variables);
        if (unstorable) return [unstorable];
        if (operation.operation === 'subscription') {
          const args: ExecutionArgs = { schema, document, operationName: payload.operationName, variableValues: payload.variables };
          shared.register(args, {
            key: `${scopeOf(auth)}\n${payload.operationName ?? ''}\n${JSON.stringify(payload.variables ?? null)}\n${payload.query}`,
            socket: ctx.extra.socket,
            id,
            context: () => createRequestContext(deps, auth),
          });
          return args;
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: createRequestContext(deps, auth),
        };
      },
      subscribe: (args) => shared.subscribe(args),
      // undefined: send the result as it is (present returns it unchanged when it has no errors).
      onNext: (_ctx, _id, _payload, _args, result) => {
        const shown = present(result as ExecutionResult);
        return shown === result ? undefined : shown;
      },
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
    },
    wsServer,
  );

  wsServer.on('error', (err) => log.error({ err: err.message }, 'websocket server error'));

  return {
    wsServer,
    fanout: shared.hub,
    websockets: {
      get sockets() {
        return budget.sockets;
      },
      get tokens() {
        return socketsPerSub.size;
      },
      get bufferedBytes() {
        return budget.bufferedBytes;
      },
      get slowConsumersClosed() {
        return slowConsumersClosed;
      },
    },
    // Closes every socket with 1001 (Going away) and stops the WebSocket server.
    dispose: async () => {
      await cleanup.dispose();
      unregisterHub();
    },
  };
}
