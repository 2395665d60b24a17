import { hash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import qs from 'qs';
import { requestContext } from '../context.js';
import { API_VERSION, type Emulator } from '../emulator.js';
import { StripeError, notFoundRoute } from '../errors.js';
import { expandResponse } from '../expand.js';
import { newId } from '../ids.js';
import { isKnownApiVersion } from '../validation.js';
import { RequestHolds } from './holds.js';
import { Params } from './params.js';
import { RawResponse, type Router } from './router.js';

const MAX_BODY_BYTES = 1024 * 1024;
const IDEMPOTENCY_TTL_S = 24 * 3600;

interface IdempotencyRecord {
  id: string;
  fingerprint: string;
  status: number;
  body: unknown;
  expires: number;
  [key: string]: unknown;
}

/**
 * The HTTP face of the emulator: Stripe's auth, form decoding, idempotency keys, expand,
 * error shape and fault injection around the routed handlers.
 */
export class EmulatorHttp {
  readonly server: Server;
  /** Idempotency keys being executed right now (Stripe answers 409 to a concurrent duplicate). */
  private readonly inFlight = new Set<string>();
  private keysSaved = 0;
  /** Test control (in process): hold a request before or after it runs. */
  readonly holds = new RequestHolds();

  constructor(
    private readonly emu: Emulator,
    private readonly router: Router,
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // Never a stack trace on the wire.
        if (!res.headersSent) send(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred' } });
        process.emitWarning(`emulator: ${(err as Error).message}`);
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const [url = '/', query = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
    const requestId = newId('req', 14);
    res.setHeader('Request-Id', requestId);

    const match = this.router.match(method, url);
    if (!match) {
      const err = this.router.knows(url)
        ? new StripeError(405, { type: 'invalid_request_error', message: `Method ${method} not allowed on ${url}` })
        : notFoundRoute(method, url);
      return send(res, err.status, err.toJSON());
    }
    if (match.options.auth) {
      const auth = req.headers.authorization ?? '';
      if (!apiKeyOf(auth)) {
        return send(res, 401, {
          error: {
            type: 'invalid_request_error',
            message: auth ? 'Invalid API Key provided.' : 'You did not provide an API key.',
          },
        });
      }
      const requested = headerValue(req.headers['stripe-version']);
      if (requested !== undefined && !isKnownApiVersion(requested)) {
        return send(res, 400, { error: { type: 'invalid_request_error', message: `Invalid Stripe API version: ${requested}` } });
      }
      // Stripe names the version it answered with; old response shapes are not emulated.
      res.setHeader('Stripe-Version', requested ?? API_VERSION);
      const fault = this.takeFault(url);
      if (fault) return send(res, fault.status, fault.body, fault.headers);
    }

    let raw: Record<string, unknown>;
    try {
      raw = { ...(qs.parse(query, QS) as Record<string, unknown>), ...(await readBody(req, url.startsWith('/v1/'))) };
    } catch (err) {
      if (err instanceof StripeError) return send(res, err.status, err.toJSON());
      throw err;
    }

    const idemKey = method === 'POST' ? headerValue(req.headers['idempotency-key']) : undefined;
    const fingerprint = idemKey ? fingerprintOf(method, url, raw) : '';
    // Keyed by API key and idempotency key, hashed so state.json holds no API key.
    const recordId = idemKey ? hash('sha256', `${headerValue(req.headers.authorization) ?? ''}|${idemKey}`) : '';
    if (idemKey) {
      const prior = this.emu.store.get<IdempotencyRecord>('idempotency_key', recordId);
      if (prior && prior.expires > this.emu.realNow()) {
        if (prior.fingerprint !== fingerprint) {
          return send(res, 400, {
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.`,
            },
          });
        }
        return send(res, prior.status, prior.body, { 'Idempotent-Replayed': 'true', 'Idempotency-Key': idemKey });
      }
      if (this.inFlight.has(recordId)) {
        return send(res, 409, {
          error: {
            type: 'idempotency_error',
            code: 'idempotency_key_in_use',
            message: 'There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later.',
          },
        });
      }
      this.inFlight.add(recordId);
    }

    try {
      const before = this.holds.take('before', { method, url });
      if (before && (await before) === 'drop') {
        res.destroy();
        return;
      }
      const params = new Params(raw);
      let status = 200;
      let body: unknown;
      let errorHeaders: Record<string, string> = {};
      try {
        const expand = params.strings('expand') ?? [];
        const result = await requestContext.run({ id: requestId, idempotencyKey: idemKey ?? null }, () =>
          match.handler({ emu: this.emu, params, path: match.path, method, url, headers: req.headers }),
        );
        if (result instanceof RawResponse) {
          res.writeHead(result.status, { 'Content-Type': result.contentType, ...result.headers });
          res.end(result.body);
          return;
        }
        body = expandResponse(this.emu, result, expand);
      } catch (err) {
        if (!(err instanceof StripeError)) throw err;
        status = err.status;
        body = err.toJSON();
        errorHeaders = err.headers;
      }
      // Stripe saves the result once execution began; we save successes and card declines,
      // so a request rejected for bad parameters can be corrected and retried with its key.
      if (idemKey && (status < 300 || status === 402)) {
        this.purgeExpiredKeys();
        this.emu.store.insert('idempotency_key', {
          id: recordId,
          fingerprint,
          status,
          body,
          expires: this.emu.realNow() + IDEMPOTENCY_TTL_S,
        } satisfies IdempotencyRecord);
      }
      if (method !== 'GET') this.emu.store.changed();
      const after = this.holds.take('after', { method, url, body });
      if (after && (await after) === 'drop') {
        res.destroy();
        return;
      }
      send(res, status, body, { ...errorHeaders, ...(idemKey ? { 'Idempotency-Key': idemKey } : {}) });
    } finally {
      if (idemKey) this.inFlight.delete(recordId);
    }
  }

  /** Every 1000 saved keys, drops the expired ones (the SDK sends a key with every POST). */
  private purgeExpiredKeys(): void {
    if (++this.keysSaved % 1000 !== 0) return;
    const now = this.emu.realNow();
    for (const r of this.emu.store.all<IdempotencyRecord>('idempotency_key')) {
      if (r.expires <= now) this.emu.store.delete('idempotency_key', r.id);
    }
  }

  private takeFault(url: string): { status: number; body: unknown; headers: Record<string, string> } | null {
    const f = this.emu.faults;
    if (!f || (f.pathPrefix && !url.startsWith(f.pathPrefix))) return null;
    let fire: boolean;
    if (f.count !== undefined) {
      fire = f.count > 0;
      f.count--;
      if (f.count <= 0 && f.rate === undefined) this.emu.faults = null;
    } else {
      fire = Math.random() < (f.rate ?? 0);
    }
    if (!fire) return null;
    if (f.status === 429) {
      return {
        status: 429,
        body: { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Request rate limit exceeded (injected by the emulator).' } },
        headers: { 'Stripe-Should-Retry': 'true', ...(f.retryAfter !== undefined ? { 'Retry-After': String(f.retryAfter) } : {}) },
      };
    }
    return { status: f.status, body: { error: { type: 'api_error', message: 'An unknown error occurred (injected by the emulator).' } }, headers: {} };
  }
}

const QS = { arrayLimit: 10_000, parameterLimit: 10_000, depth: 10, allowDots: false };

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function fingerprintOf(method: string, url: string, raw: Record<string, unknown>): string {
  return hash('sha256', `${method} ${url} ${stableStringify(raw)}`);
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The raw body (plain stream events: cheaper per request than an async iterator over it). */
function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new StripeError(413, { type: 'invalid_request_error', message: 'Request body too large.' }));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/**
 * `Authorization: Bearer <key>`, or Basic with the key as the user name and no password (how
 * Stripe's docs call the API: `curl -u sk_test_…:`). Secret and restricted keys only.
 */
function apiKeyOf(auth: string): string | null {
  let key = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  const basic = /^Basic\s+(\S+)$/i.exec(auth)?.[1];
  if (basic) key = Buffer.from(basic, 'base64').toString('utf8').split(':', 1)[0];
  return key && /^(sk|rk)_(test|live)_\S+$|^sk_\S+$/.test(key) ? key : null;
}

async function readBody(req: IncomingMessage, formOnly: boolean): Promise<Record<string, unknown>> {
  const text = await readText(req);
  if (text.length === 0) return {};
  const type = req.headers['content-type'] ?? '';
  // Stripe's v1 API takes form-encoded bodies only; JSON is for the emulator's own controls (and v2).
  if (formOnly && type !== '' && !type.startsWith('application/x-www-form-urlencoded')) {
    throw new StripeError(400, {
      type: 'invalid_request_error',
      message: `Invalid request: unsupported Content-Type ${type}. If error persists and you need assistance, please contact support@stripe.com.`,
    });
  }
  if (type.includes('application/json')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      throw new StripeError(400, { type: 'invalid_request_error', message: 'Invalid JSON body.' });
    }
  }
  return qs.parse(text, QS) as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
