/**
 * Idempotency keys of the gateway's mutations (table `idempotency_keys`, primary key (scope, key)).
 *
 * - scope: the caller (`role:sub`), so one caller's keys never meet another's;
 * - the request hash (operation + the normalised input, key excluded) tells a replay from a misuse:
 *   same key + same input → the stored outcome again; same key + different input → CONFLICT;
 * - a request still running under the key: the duplicate waits for it (up to `waitMs`), then replays;
 *   still running after that → CONFLICT;
 * - the running request renews its row every second (`updated_at`, a heartbeat). A row that has not
 *   moved for `staleMs` (5 s) belongs to a process that died: the same request (same hash) takes it over
 *   and runs again (`resumed`), so a retry after a crash is never answered CONFLICT for its own earlier
 *   attempt. A different input never takes a row over (CONFLICT);
 * - outcomes are kept 24 h (`expires_at`); an expired key is taken over like a new one;
 * - a transient failure (Stripe unreachable, rate limited, internal) deletes the row, so the client can
 *   retry with the same key; a card decline or bad input is stored and replayed as the same error.
 *
 * Stripe calls made under a key get keys derived from it (`stripeKey(step)`), so a resumed run replays
 * them and gets the objects the dead attempt created (Stripe keeps its keys 24 h): it finishes the
 * write-through and answers what the first run would have. A use case that checks Stripe for clashes
 * first (one live subscription per product) recognises its own earlier objects by `requestTag`.
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { AppError, badUserInput, conflict, type ErrorCode } from '../../errors.js';
import { withHeartbeat } from './heartbeat.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** No heartbeat for this long: the holder died (beats come every second). */
const STALE_MS = 5_000;
const WAIT_MS = 20_000;
const POLL_MS = 50;
const REPLAYED_ERRORS = new Set<ErrorCode>(['CARD_DECLINED', 'BAD_USER_INPUT', 'PAYMENT_ACTION_REQUIRED']);

export interface IdempotentRequest {
  /** The caller (see `idempotencyScope`). */
  scope: string;
  /** The client's key; absent: the call simply runs. */
  key: string | null | undefined;
  operation: string;
  /** The normalised input, without the key. */
  input: unknown;
}

export interface IdempotencyRun {
  /** A Stripe idempotency key for one step of this request (undefined without a client key: the SDK adds its own). */
  stripeKey(step: string): string | undefined;
  /** True when this run replays a stored outcome (the function did not run). */
  replayed: boolean;
  /** True when this run took over the key from an attempt that died mid-way (its Stripe calls may have happened). */
  resumed: boolean;
  /** Names this request (not the client's key itself) on what it creates at Stripe, so a resumed run knows its own objects. */
  requestTag: string | undefined;
}

type StoredOutcome = { ok: true; value: unknown } | { ok: false; error: { code: ErrorCode; message: string; extensions: Record<string, unknown> } };

interface Row {
  request_hash: string;
  status: 'in_progress' | 'completed' | 'failed';
  response: StoredOutcome | string | null;
  expires_at: Date | string;
  updated_at: Date | string;
}

export function idempotencyScope(viewer: { sub: string; role?: string }): string {
  return `${viewer.role ?? 'customer'}:${viewer.sub}`;
}

/** Keys sort object members, so `{a,b}` and `{b,a}` hash alike; undefined members are dropped. */
export function stableJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function requestHash(operation: string, input: unknown): string {
  return createHash('sha256').update(`${operation}\n${stableJson(input)}`).digest('hex');
}

export function deriveStripeKey(scope: string, key: string, operation: string, step: string): string {
  return `bg_${createHash('sha256').update(`${scope}\n${key}\n${operation}`).digest('hex').slice(0, 40)}_${step}`;
}

export function validateIdempotencyKey(key: string | null | undefined, field = 'idempotencyKey'): void {
  if (key === null || key === undefined) return;
  if (key.length < 1 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw badUserInput(field, 'idempotencyKey must be 1-255 printable ASCII characters without spaces');
  }
}

const toDate = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseOutcome(response: Row['response']): StoredOutcome | null {
  if (response === null) return null;
  return typeof response === 'string' ? (JSON.parse(response) as StoredOutcome) : response;
}

function replay<T>(outcome: StoredOutcome): T {
  if (outcome.ok) return outcome.value as T;
  throw new AppError(outcome.error.code, outcome.error.message, outcome.error.extensions);
}

/** Claims made by this process (every 100th purges expired keys). */
let claims = 0;

export class IdempotencyStore {
  constructor(
    private readonly em: EntityManager,
    private readonly opts: { waitMs?: number; staleMs?: number; ttlMs?: number } = {},
  ) {}

  private sql<R = unknown>(query: string, params: unknown[]): Promise<R[]> {
    return this.em.getConnection().execute<R[]>(query, params, 'all');
  }

  /**
   * Runs `fn` at most once per (scope, key, input) and returns its (JSON-serialisable) result, or the
   * stored result of an earlier run.
   */
  async run<T>(req: IdempotentRequest, fn: (run: IdempotencyRun) => Promise<T>): Promise<T> {
    if (!req.key) return fn({ stripeKey: () => undefined, replayed: false, resumed: false, requestTag: undefined });
    validateIdempotencyKey(req.key);
    const key = req.key;
    const hash = requestHash(req.operation, req.input);
    const run: IdempotencyRun = {
      stripeKey: (step) => deriveStripeKey(req.scope, key, req.operation, step),
      replayed: false,
      resumed: false,
      requestTag: deriveStripeKey(req.scope, key, req.operation, 'request'),
    };

    const deadline = Date.now() + (this.opts.waitMs ?? WAIT_MS);
    for (;;) {
      const claimed = await this.claim(req.scope, key, req.operation, hash);
      if (claimed) {
        run.resumed = claimed.resumed;
        break;
      }
      const row = await this.read(req.scope, key);
      if (!row) continue; // released meanwhile: claim again
      if (row.request_hash !== hash) {
        throw conflict('This idempotency key was already used with a different request');
      }
      const outcome = row.status === 'in_progress' ? null : parseOutcome(row.response);
      if (outcome) return replay<T>(outcome);
      if (Date.now() > deadline) throw conflict('A request with this idempotency key is still in progress; retry later');
      await sleep(POLL_MS);
    }

    let value: T;
    try {
      const beat = {
        sql: `update "idempotency_keys" set "updated_at" = now() where "scope" = ? and "key" = ? and "status" = 'in_progress'`,
        params: [req.scope, key],
      };
      value = await withHeartbeat(this.em, beat, () => fn(run));
    } catch (err) {
      if (err instanceof AppError && REPLAYED_ERRORS.has(err.code)) {
        await this.finish(req.scope, key, 'failed', { ok: false, error: { code: err.code, message: err.message, extensions: { ...err.extensions } } });
      } else {
        await this.release(req.scope, key);
      }
      throw err;
    }
    await this.finish(req.scope, key, 'completed', { ok: true, value });
    return value;
  }

  /**
   * Inserts the in-progress row, or takes over an expired one or the abandoned attempt of the same
   * request (no heartbeat for `staleMs`). Null when someone else owns the key.
   */
  private async claim(scope: string, key: string, operation: string, hash: string): Promise<{ resumed: boolean } | null> {
    if (++claims % 100 === 0) await this.purgeExpired();
    const staleMs = this.opts.staleMs ?? STALE_MS;
    const rows = await this.sql<{ resumed: boolean | null }>(
      `with "prior" as (select "status", "expires_at" from "idempotency_keys" where "scope" = ? and "key" = ?)
       insert into "idempotency_keys" ("scope", "key", "operation", "request_hash", "status", "response", "created_at", "updated_at", "expires_at")
       values (?, ?, ?, ?, 'in_progress', null, now(), now(), now() + (? * interval '1 millisecond'))
       on conflict ("scope", "key") do update
         set "operation" = excluded."operation", "request_hash" = excluded."request_hash", "status" = 'in_progress',
             "response" = null, "created_at" = now(), "updated_at" = now(), "expires_at" = excluded."expires_at"
         where "idempotency_keys"."expires_at" < now()
            or ("idempotency_keys"."status" = 'in_progress' and "idempotency_keys"."request_hash" = excluded."request_hash"
                and "idempotency_keys"."updated_at" < now() - (? * interval '1 millisecond'))
       returning (select "status" = 'in_progress' and "expires_at" >= now() from "prior") as "resumed"`,
      [scope, key, scope, key, operation, hash, this.opts.ttlMs ?? IDEMPOTENCY_TTL_MS, staleMs],
    );
    return rows[0] ? { resumed: rows[0].resumed === true } : null;
  }

  private async read(scope: string, key: string): Promise<Row | null> {
    const rows = await this.sql<Row>(
      `select "request_hash", "status", "response", "expires_at", "updated_at" from "idempotency_keys" where "scope" = ? and "key" = ?`,
      [scope, key],
    );
    return rows[0] ?? null;
  }

  private async finish(scope: string, key: string, status: 'completed' | 'failed', outcome: StoredOutcome): Promise<void> {
    await this.sql(
      `update "idempotency_keys" set "status" = ?, "response" = ?::jsonb, "updated_at" = now(), "expires_at" = now() + (? * interval '1 millisecond')
       where "scope" = ? and "key" = ?`,
      [status, JSON.stringify(outcome), this.opts.ttlMs ?? IDEMPOTENCY_TTL_MS, scope, key],
    );
  }

  private async release(scope: string, key: string): Promise<void> {
    await this.sql(`delete from "idempotency_keys" where "scope" = ? and "key" = ? and "status" = 'in_progress'`, [scope, key]);
  }

  /** Keys past their 24 h (leases included). */
  async purgeExpired(): Promise<number> {
    const rows = await this.sql<{ key: string }>(`delete from "idempotency_keys" where "expires_at" < now() returning "key"`, []);
    return rows.length;
  }
}
