/**
 * The gateway's HTTP server: express 5 with Apollo Server 5 at `/graphql`, graphql-ws on the same
 * server and path, the probes and `/metrics`, a body-size limit, rate limits, and graceful shutdown.
 * The composition root (src/gateway.ts) builds the dependencies and calls `createGatewayServer`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import type { Authentication } from '../auth/guard.js';
import type { Signals } from '../billing/signals/index.js';
import { createTokenVerifier, type TokenVerifier } from '../auth/tokens.js';
import { createRequestContext, type AppDeps, type GraphQLContext } from '../graphql/context.js';
import { AppError, formatGatewayError, rateLimited, unauthenticated } from '../graphql/errors.js';
import { httpOperationsPlugin, queryLimitsPlugin } from '../graphql/limits.js';
import { storableInputPlugin } from '../graphql/storable-input.js';
import { jitQueriesPlugin } from '../graphql/jit-queries.js';
import { buildGatewaySchema, type GatewaySchemaOptions } from '../graphql/schema.js';
import { logger as rootLogger, type Logger } from '../log.js';
import { attachGraphqlWs, type WebSocketStats } from './graphql-ws.js';
import { migrationsCheck, mountHealthRoutes, syncCheck, type ReadinessCheck } from './health.js';
import { createKeyVerification, keyVerificationFastPath, mountKeyVerification } from './keys-verify.js';
import { graphqlFastPath } from './graphql-fast-path.js';
import { metricsRegistry } from '../metrics.js';
import { httpMetricsMiddleware, withRequestMetrics } from './metrics.js';
import { createRequestRateLimiter, type RequestRateLimiter } from './rate-limit.js';
import { graphiqlLandingPage, mountWebPages } from './web-pages.js';

export const GRAPHQL_PATH = '/graphql';

export interface GatewayServerDeps extends AppDeps {
  /** Readiness of the database; default: `orm.checkConnection()`. */
  checkDatabase?: ReadinessCheck;
  /** Readiness of Stripe (or the emulator), e.g. a cheap authenticated GET. */
  checkStripe: ReadinessCheck;
  /** Default: `createTokenVerifier(config.auth)`. */
  verifier?: TokenVerifier;
  /** A prebuilt schema; otherwise built from the core resolvers plus `schemaOptions`. */
  schema?: GraphQLSchema;
  schemaOptions?: GatewaySchemaOptions;
  /** Set: API key verification records a key's first RATE_LIMITED or QUOTA_EXCEEDED in a window with these (the event hooks' signals, ../workers.ts). */
  signals?: Pick<Signals, 'record'>;
  /** Share rate-limit counters between replicas (optional; in memory otherwise). */
  redis?: Redis;
  /**
   * Mount routes that must see the raw body, BEFORE any JSON parser: `POST /webhooks/stripe`
   * goes here, e.g. `app.post('/webhooks/stripe', express.raw({ type: 'application/json' }), handler)`.
   */
  mountBeforeJson?: (app: Express) => void;
  /**
   * `POST /webhooks/stripe` served ahead of express (the webhook service's `fastPath`: true when it took
   * the request); what it leaves goes to the route `mountBeforeJson` mounted.
   */
  webhookFastPath?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Further REST routes, mounted after `/graphql` and before the 404 handler. */
  mountRoutes?: (app: Express) => void;
  log?: Logger;
  /** How long shutdown waits for in-flight requests before closing their connections (default 10 s). */
  shutdownGraceMs?: number;
}

export interface GatewayServer {
  app: Express;
  httpServer: Server;
  schema: GraphQLSchema;
  /** Live subscriptions: shared executions (`keys`, one per document, variables and viewer) and their subscribers. */
  fanout: { readonly keys: number; readonly subscribers: number };
  /** Sockets, token subjects and unsent bytes the WebSocket side holds (all 0 once the sockets are gone). */
  websockets: WebSocketStats;
  /** Starts listening; resolves with the actual port (pass 0 for any free port). */
  listen(port?: number, host?: string): Promise<number>;
  /** Stops accepting, finishes in-flight requests, closes WebSockets with 1001. The caller then closes the database. */
  close(): Promise<void>;
}

function errorBody(message: string, code: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { ...extensions, code } }] };
}

export async function createGatewayServer(deps: GatewayServerDeps): Promise<GatewayServer> {
  const { config, orm } = deps;
  const log = (deps.log ?? rootLogger).child({ module: 'http' });
  const appDeps: AppDeps = {
    config: deps.config,
    orm: deps.orm,
    catalog: deps.catalog,
    bus: deps.bus,
    ...(deps.stripe ? { stripe: deps.stripe } : {}),
    ...(deps.testClockId ? { testClockId: deps.testClockId } : {}),
    ...(deps.onUsageRecorded ? { onUsageRecorded: deps.onUsageRecorded } : {}),
  };
  const keys = createKeyVerification({ config, orm, catalog: deps.catalog, log, ...(deps.redis ? { redis: deps.redis } : {}), ...(deps.onUsageRecorded ? { onUsageRecorded: deps.onUsageRecorded } : {}), ...(deps.signals ? { signals: deps.signals } : {}) });
  appDeps.keyVerifier = keys.verifier;
  const verifier = deps.verifier ?? createTokenVerifier(config.auth);
  const rateLimiter: RequestRateLimiter = createRequestRateLimiter(config, deps.redis);
  const schema = deps.schema ?? (await buildGatewaySchema({ ...deps.schemaOptions, pubSub: deps.schemaOptions?.pubSub ?? deps.bus?.pubSub }));

  const app = express();
  app.disable('x-powered-by');
  // No ETag on JSON answers (GraphQL POSTs are never revalidated): hashing each body was measurable per read.
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy > 0 ? config.trustProxy : false);
  // API key verification (the hot path) is answered before express; everything else goes to the app.
  const verifyFast = keyVerificationFastPath({ verifier: keys.verifier, tokens: verifier, bodyLimitBytes: config.bodyLimitBytes, log });
  // POST /graphql too, once Apollo has started (below); set before the server listens.
  let graphqlFast: (req: IncomingMessage, res: ServerResponse) => boolean = () => false;
  const webhookFast = deps.webhookFastPath ? withRequestMetrics('/webhooks/stripe', deps.webhookFastPath) : () => false;
  const httpServer = createServer((req, res) => {
    if (!graphqlFast(req, res) && !verifyFast(req, res) && !webhookFast(req, res)) app(req, res);
  });
  let shuttingDown = false;

  const ws = attachGraphqlWs({ httpServer, path: GRAPHQL_PATH, schema, deps: appDeps, verifier, rateLimiter, log });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    csrfPrevention: true,
    introspection: !config.isProduction,
    includeStacktraceInErrorResponses: false,
    // No "Did you mean …" in production: with introspection off, suggestions would still map the schema.
    hideSchemaDetailsFromClientErrors: config.isProduction,
    // The cheapest limit first: the parser stops past this many tokens, before validation and the cost walk.
    parseOptions: { maxTokens: config.graphql.maxTokens },
    // The composition root owns SIGINT/SIGTERM: Apollo's own handler would re-kill the process
    // before the emulator and the database are closed.
    stopOnTerminationSignals: false,
    formatError: formatGatewayError,
    logger: log,
    plugins: [
      httpOperationsPlugin<GraphQLContext>(),
      queryLimitsPlugin<GraphQLContext>(config.graphql),
      storableInputPlugin<GraphQLContext>(),
      // Last of the request's checks: repeated queries answered by graphql-jit instead of graphql-js.
      jitQueriesPlugin<GraphQLContext>(schema),
      // No cache hints are used; the default cache-control plugin would wrap every field resolver (bench `read`).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: deps.shutdownGraceMs ?? 10_000 }),
      config.isProduction ? ApolloServerPluginLandingPageDisabled() : graphiqlLandingPage(),
    ],
  });
  await apollo.start();
  const corsOn = config.corsOrigins === '*' || config.corsOrigins.length > 0;
  const graphqlContext = (auth: Authentication) => createRequestContext(appDeps, auth);
  graphqlFast = graphqlFastPath<GraphQLContext>({
    apollo,
    path: GRAPHQL_PATH,
    context: graphqlContext,
    tokens: verifier,
    rateLimiter,
    bodyLimitBytes: config.bodyLimitBytes,
    cors: corsOn,
    trustProxy: config.trustProxy,
    log,
  });

  app.use(httpMetricsMiddleware);

  // ── Raw-body routes (POST /webhooks/stripe) go here, before any JSON parser. ──
  deps.mountBeforeJson?.(app);

  mountHealthRoutes(
    app,
    {
      database: deps.checkDatabase ?? (async () => (await orm.checkConnection()).ok),
      migrations: migrationsCheck(orm),
      sync: syncCheck(orm, config.syncReadiness),
      stripe: deps.checkStripe,
    },
    log,
    () => shuttingDown,
  );

  /** Verifies the bearer token once per request; a rejected token is remembered, not fatal (plans needs none). */
  const authenticate: RequestHandler = async (req, res, next) => {
    let auth: Authentication;
    try {
      auth = { viewer: await verifier.verifyAuthorization(req.headers.authorization) };
    } catch (err) {
      auth = { viewer: null, error: err instanceof AppError ? err : unauthenticated('Cannot verify token') };
    }
    res.locals.auth = auth;
    next();
  };

  /** Rate limit: GraphQL-shaped RATE_LIMITED error with retryAfter, HTTP 429 and Retry-After. */
  const rateLimit: RequestHandler = async (req, res, next) => {
    const decision = await rateLimiter.consume((res.locals.auth as Authentication | undefined)?.viewer ?? null, req.ip ?? req.socket.remoteAddress);
    if (decision.allowed) return next();
    const e = rateLimited(decision.retryAfterSeconds);
    res.status(429).set('Retry-After', String(decision.retryAfterSeconds)).json(errorBody(e.message, e.code, e.extensions));
  };

  app.get('/metrics', authenticate, rateLimit, async (_req, res) => {
    res.set('Content-Type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });

  // Cross-origin browsers (answered before auth so preflights pass); same-origin callers need none.
  if (corsOn) {
    app.use(GRAPHQL_PATH, cors({ origin: config.corsOrigins === '*' ? true : config.corsOrigins, maxAge: 600 }));
  }
  app.use(
    GRAPHQL_PATH,
    authenticate,
    rateLimit,
    express.json({ limit: config.bodyLimitBytes }),
    expressMiddleware(apollo, {
      context: async ({ res }) => graphqlContext((res.locals.auth as Authentication | undefined) ?? { viewer: null }),
    }),
  );

  // API key verification (what the fast path above leaves to express): no request rate limit (the keys' own limits apply), its own body parser.
  mountKeyVerification(app, keys.verifier, authenticate, config.bodyLimitBytes);

  mountWebPages(app, config);
  deps.mountRoutes?.(app);

  app.use((_req, res) => {
    res.status(404).json(errorBody('Not found', 'NOT_FOUND'));
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const e = err as { type?: string; status?: number; statusCode?: number; expose?: boolean; message?: string };
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json(errorBody(`Request body too large: the limit is ${config.bodyLimitBytes} bytes`, 'PAYLOAD_TOO_LARGE'));
    } else if (e.type === 'entity.parse.failed') {
      res.status(400).json(errorBody('Malformed JSON request body', 'BAD_REQUEST'));
    } else {
      const status = e.status ?? e.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        res.status(status).json(errorBody(e.expose && e.message ? e.message : 'Bad request', 'BAD_REQUEST'));
      } else {
        log.error({ err: { message: e.message, type: e.type }, path: req.path }, 'unhandled request error');
        res.status(500).json(errorBody('Internal server error', 'INTERNAL_SERVER_ERROR'));
      }
    }
  };
  app.use(onError);

  let closing: Promise<void> | undefined;
  return {
    app,
    httpServer,
    schema,
    fanout: ws.fanout,
    websockets: ws.websockets,
    listen(port = config.port, host?: string) {
      return new Promise<number>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve((httpServer.address() as AddressInfo).port);
        });
      });
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        // WebSockets first (1001 Going away): an open subscription is not an in-flight request,
        // and the HTTP drain would otherwise wait its whole grace period on upgraded sockets.
        await ws.dispose();
        // Then apollo.stop() runs the drain plugin: the HTTP server stops accepting and in-flight
        // requests finish (connections still busy after the grace period are closed).
        if (httpServer.listening) await apollo.stop();
        else await apollo.stop().catch(() => undefined);
        // After in-flight verifications: their key stats are written.
        await keys.close();
      })();
      return closing;
    },
  };
}
