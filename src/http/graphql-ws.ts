/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's `/graphql` path.
 * The token comes in `connection_init` (`connectionParams.authorization: "Bearer <jwt>"`);
 * a missing or bad token closes the socket with 4401 (graphql-ws itself would send 4403).
 */
import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, specifiedRules, NoSchemaIntrospectionCustomRule, type ExecutionArgs, type ExecutionResult, type GraphQLSchema, type ValidationRule } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Authentication } from '../auth/guard.js';
import type { TokenVerifier } from '../auth/tokens.js';
import { createRequestContext, type AppDeps } from '../graphql/context.js';
import { AppError, formatGatewayError, rateLimited } from '../graphql/errors.js';
import { checkQueryLimits } from '../graphql/limits.js';
import { checkStorableInput } from '../graphql/storable-input.js';
import type { Logger } from '../log.js';
import { createDocumentCache } from './fanout/document-cache.js';
import { createSharedSubscriptions } from './fanout/use/graphql-ws.js';
import { liveSubscribers, registerFanoutHub } from './metrics.js';
import type { RequestRateLimiter } from './rate-limit.js';

export const WS_UNAUTHORIZED = 4401;
/** setTimeout's ceiling (~24.8 days); sockets of tokens valid longer than that are not timed out. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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

export interface GraphqlWs {
  wsServer: WebSocketServer;
  /** Live shared subscription executions (one per operation, variables and viewer) and their subscribers. */
  fanout: { readonly keys: number; readonly subscribers: number };
  dispose(): Promise<void>;
}

export function attachGraphqlWs(opts: GraphqlWsOptions): GraphqlWs {
  const { deps, schema, verifier, rateLimiter, log } = opts;
  const wsServer = new WebSocketServer({ server: opts.httpServer, path: opts.path, maxPayload: deps.config.bodyLimitBytes });
  const rules: ValidationRule[] = [...specifiedRules];
  if (deps.config.isProduction) rules.push(NoSchemaIntrospectionCustomRule);
  const documents = createDocumentCache(schema, rules);
  // Subscriptions execute once per (document, variables, viewer) and every subscriber gets the same bytes.
  const shared = createSharedSubscriptions({
    present,
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
          ctx.extra.auth = { viewer: verified.viewer };
          const ms = verified.expiresAt ? verified.expiresAt.getTime() - Date.now() : Infinity;
          if (ms <= MAX_TIMER_MS) {
            // A token's validity ends with its exp, also on a long-lived socket.
            const timer = setTimeout(() => socket.close(WS_UNAUTHORIZED, 'Token expired'), Math.max(ms, 0));
            timer.unref();
            socket.once('close', () => clearTimeout(timer));
          }
          liveSubscribers.inc();
          return true;
        } catch (err) {
          const reason = err instanceof AppError ? err.message : 'Unauthorized';
          socket.close(WS_UNAUTHORIZED, reason.slice(0, 120));
          return false;
        }
      },
      onDisconnect: () => {
        liveSubscribers.dec();
      },
      onSubscribe: async (ctx, id, payload) => {
        const auth = ctx.extra.auth!;
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
    // Closes every socket with 1001 (Going away) and stops the WebSocket server.
    dispose: async () => {
      await cleanup.dispose();
      unregisterHub();
    },
  };
}
