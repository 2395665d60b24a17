/**
 * `POST /graphql` served straight from node:http, ahead of express: a read spends less in the
 * server than express's router, its request/response decoration, body-parser's stream machinery and
 * the express adaptor's legacy `url.parse` cost together (bench `read`). Same answers as the express
 * route it stands in for (src/http/server.ts): the bearer token checked by the same verifier (a
 * rejected token is no viewer, remembered for the resolvers), the same request rate limit (429 with
 * Retry-After), the body read with the same size limit (413) and the same strict JSON (400), then
 * Apollo's own `executeHTTPGraphQLRequest` (CSRF prevention included) with the same context, its
 * status, headers and body written as the adaptor writes them, and the same http_requests metrics.
 *
 * It returns false, having touched nothing, for what it leaves to express: other paths or methods, a
 * query string, a request with an Origin header (CORS), a Content-Type other than application/json
 * (body-parser would not parse it; Apollo's CSRF check answers those), a compressed body, a charset
 * other than UTF-8, no body at all, and a forwarded address when the proxy is trusted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest } from '@apollo/server';
import type { Authentication } from '../auth/guard.js';
import type { TokenVerifier } from '../auth/tokens.js';
import { AppError, rateLimited, unauthenticated } from '../graphql/errors.js';
import type { Logger } from '../log.js';
import { errorJson, INTERNAL, JSON_TYPE, MALFORMED, NOT_JSON, parseStrictJson, readBodyText } from './fast-path-bodies.js';
import { httpRequestDuration, httpRequestsTotal } from './metrics.js';
import type { RequestRateLimiter } from './rate-limit.js';


/** Prometheus labels of this route, one object per status (no object per request). */
const LABELS: Record<number, { method: string; route: string; status: string }> = {};
const labelsOf = (status: number) => (LABELS[status] ??= { method: 'POST', route: '/graphql', status: String(status) });

export interface GraphqlFastPathOptions<TContext extends object> {
  apollo: ApolloServer<TContext>;
  path: string;
  /** The context of one request, as the express route builds it. */
  context: (auth: Authentication) => Promise<TContext> | TContext;
  tokens: TokenVerifier;
  rateLimiter: RequestRateLimiter;
  bodyLimitBytes: number;
  /** Whether express would answer with CORS headers (then `Vary: Origin` goes on every answer, as the cors middleware sets it). */
  cors: boolean;
  /** Express's `trust proxy` hops: with any, a request with X-Forwarded-For is left to express (its `req.ip`). */
  trustProxy: number;
  log: Logger;
}

export function graphqlFastPath<TContext extends object>(opts: GraphqlFastPathOptions<TContext>): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { apollo, path, tokens, rateLimiter, bodyLimitBytes: limit, log } = opts;
  const tooLarge = errorJson(`Request body too large: the limit is ${limit} bytes`, 'PAYLOAD_TOO_LARGE');
  const vary = opts.cors;

  function finish(res: ServerResponse, status: number, startedAt: number): void {
    const labels = labelsOf(status);
    httpRequestsTotal.inc(labels);
    httpRequestDuration.observe(labels, (performance.now() - startedAt) / 1000);
  }

  function send(res: ServerResponse, status: number, body: string, startedAt: number, extra?: [string, string]): void {
    const headers = ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))];
    if (vary) headers.push('vary', 'Origin');
    if (extra) headers.push(extra[0], extra[1]);
    res.writeHead(status, headers);
    res.end(body);
    finish(res, status, startedAt);
  }

  function failed(res: ServerResponse, startedAt: number, err: unknown): void {
    log.error({ err: { message: (err as Error)?.message }, path }, 'unhandled request error');
    if (res.headersSent) {
      res.destroy();
      finish(res, res.statusCode, startedAt);
    } else send(res, 500, INTERNAL, startedAt);
  }

  async function execute(req: IncomingMessage, res: ServerResponse, auth: Authentication, body: unknown, startedAt: number): Promise<void> {
    const headers = new HeaderMap();
    const h = req.headers;
    for (const key in h) {
      const value = h[key];
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: 'POST', headers, search: '', body };
    const answer = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: async () => opts.context(auth) });
    const status = answer.status ?? 200;
    const out: string[] = [];
    if (vary) out.push('vary', 'Origin');
    for (const [key, value] of answer.headers) out.push(key, value);
    if (answer.body.kind === 'complete') {
      const text = answer.body.string;
      out.push('content-length', String(Buffer.byteLength(text)));
      res.writeHead(status, out);
      res.end(text);
      finish(res, status, startedAt);
      return;
    }
    // Incremental delivery (multipart): each part as Apollo yields it.
    res.writeHead(status, out);
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
    finish(res, status, startedAt);
  }

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== path) return false;
    const h = req.headers;
    if (h.origin !== undefined) return false;
    const type = h['content-type'];
    if (type === undefined) return false;
    const semi = type.indexOf(';');
    if ((semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase() !== 'application/json') return false;
    if (semi >= 0 && type.includes('charset') && !/;\s*charset\s*=\s*"?utf-8"?\s*(;|$)/i.test(type)) return false;
    const encoding = h['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    // As body-parser: no length and no chunked encoding is no body (express leaves req.body unset).
    if (h['transfer-encoding'] === undefined && h['content-length'] === undefined) return false;
    if (opts.trustProxy > 0 && h['x-forwarded-for'] !== undefined) return false;

    const startedAt = performance.now();
    // As express's `authenticate`, then `rateLimit`: both before the body is read, so a limited request is 429 whatever its body.
    const admitted: Promise<{ auth: Authentication; retryAfter: number }> = tokens.verifyAuthorization(h.authorization).then(
      (viewer) => ({ viewer }),
      (err: unknown): Authentication => ({ viewer: null, error: err instanceof AppError ? err : unauthenticated('Cannot verify token') }),
    ).then(async (auth) => {
      const decision = await rateLimiter.consume(auth.viewer, req.socket.remoteAddress);
      return { auth, retryAfter: decision.allowed ? 0 : decision.retryAfterSeconds };
    });
    // Handled when the body has ended (below); until then a failure must not count as unhandled.
    admitted.catch(() => undefined);

    readBodyText(req, limit, (text) => {
      admitted.then(
        ({ auth, retryAfter }) => {
          if (retryAfter > 0) {
            const e = rateLimited(retryAfter);
            return send(res, 429, errorJson(e.message, e.code, e.extensions), startedAt, ['retry-after', String(retryAfter)]);
          }
          if (text === null) return send(res, 413, tooLarge, startedAt);
          const body = parseStrictJson(text);
          if (body === NOT_JSON) return send(res, 400, MALFORMED, startedAt);
          execute(req, res, auth, body, startedAt).catch((err: unknown) => failed(res, startedAt, err));
        },
        (err: unknown) => failed(res, startedAt, err),
      );
    });
    return true;
  };
}

