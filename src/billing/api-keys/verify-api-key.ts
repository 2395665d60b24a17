/**
 * Key verification, the hot path in front of a customer's API: one call authenticates a key, applies
 * its plan's rate limit and quota, and meters it. Codes are decided in this order: NOT_FOUND, REVOKED,
 * EXPIRED, NO_SUBSCRIPTION (access NONE), SUSPENDED (access SUSPENDED), RATE_LIMITED, QUOTA_EXCEEDED,
 * VALID. A VALID answer records `cost` units of the plan's API meter in the usage ledger (the same
 * insert path as reportUsage, so the meter-event flusher bills it), once per requestId; a refused
 * answer records nothing.
 *
 * Per verification, on the usual path: one hash and one Redis round trip (the rate-limit count, when
 * the plan has a limit), and no database statement: the ledger insert is written behind the answer,
 * shared with concurrent verifications (group commit). Keys and customer facts are cached per process
 * until the change feed (change-feed.ts, a look every 250 ms) reports their customer changed, so a
 * revoke, a roll, a plan change, a cancel or a suspension reaches every replica within a second; while
 * the feed is not keeping up they age out after `FRESH_MS`/`MAX_AGE_MS` instead.
 */
import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { Em } from '../../db/orm.js';
import type { Redis } from 'ioredis';
import type { Catalog } from '../../catalog.js';
import type { Logger } from '../../log.js';
import { queryRows } from '../../db/sql.js';
import { findUsageRows, usagePairKey } from '../usage/ledger.js';
import type { UsageQuantityKey } from '../usage/usage-summary.js';
import { loadCustomerApiStates, periodAt, type CustomerApiState } from './customer-limits.js';
import { KeyRateLimiter, type RateWindow } from './key-rate-limit.js';
import { QuotaCounters } from './quota-counters.js';
import { ReplayLog, type Answer } from './replays.js';
import { hashSecret, isWellFormedSecret } from './secrets.js';
import type { KeyChangeFeed } from './change-feed.js';
import { TtlCache } from './ttl-cache.js';
import { KeyUsageStats } from './usage-stats.js';
import { UsageWriter } from './usage-writer.js';

/** The verification codes (docs/api-keys.md), in the order they are checked. */
export const VERIFICATION_CODES = ['NOT_FOUND', 'REVOKED', 'EXPIRED', 'NO_SUBSCRIPTION', 'SUSPENDED', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'VALID'] as const;
export type VerificationCode = (typeof VERIFICATION_CODES)[number];

/**
 * Keys and customer facts without the change feed (and customer facts that change with time alone: an
 * open dunning case): fresh for this long, then reloaded in the background while served up to `MAX_AGE_MS`.
 */
export const FRESH_MS = 400;
export const MAX_AGE_MS = 900;
/** How often the ledger's sum for a quota is re-read (other replicas' units show up then). */
const QUOTA_REREAD_MS = 400;
/** Units used on a plan without a quota are only shown, never enforced: re-read less often. */
const UNCAPPED_USAGE_TTL_MS = 5_000;
/**
 * The least time between two ledger inserts of VALID answers (rows gather meanwhile): each statement
 * wakes PostgreSQL, which on a small machine takes the CPU from the verifications in flight, so fewer,
 * larger inserts. A crash loses at most this long of VALID answers' units (never counts them twice).
 */
const INSERT_GAP_MS = 100;
/** How long a requestId's answer is replayed by this process. */
const REPLAY_TTL_MS = 15 * 60_000;
const REPLAY_MAX = 200_000;
export const MAX_COST = 1_000_000;
export const MAX_REQUEST_ID_LENGTH = 200;

export interface VerifyInput {
  key: string;
  cost?: number;
  requestId?: string | null;
}

/** A verification's answer: the code, the key's owner and plan, and the limits' state (`Answer` in replays.ts). */
export type VerificationView = Answer<VerificationCode>;

/** A key or customer first hit a limit in a window (throttled: once per key, code and window per process). */
export interface LimitReached {
  code: 'RATE_LIMITED' | 'QUOTA_EXCEEDED';
  keyId: string;
  customerId: string;
  plan: string | null;
  limit: number;
  /** Start of the window (rate limit) or billing period (quota): with the key and code, what makes it one signal. */
  windowStart: Date;
  windowEnd: Date;
}

export interface KeyVerifierDeps {
  em: Em;
  catalog: Catalog;
  redis?: Redis;
  log: Logger;
  /** Set: keys and customer facts stay cached until it reports a change (else they age out quickly). */
  changes?: KeyChangeFeed;
  /** Wakes the meter-event flusher after new ledger rows. */
  onUsageRecorded?: () => void;
  onLimitReached?: (e: LimitReached) => void;
  onVerified?: (code: VerificationCode) => void;
}

interface UsageWindow {
  period: { start: Date; end: Date };
  usageKey: UsageQuantityKey;
}

interface KeyRecord {
  id: string;
  customerId: string;
  expiresAt: number | null;
  revokedAt: number | null;
}

const time = (v: Date | string | null): number | null => (v === null ? null : new Date(v).getTime());

export class KeyVerifier {
  private readonly keys: TtlCache<KeyRecord | null>;
  private readonly states: TtlCache<CustomerApiState | null>;
  private readonly quotas: QuotaCounters;
  private readonly rate: KeyRateLimiter;
  readonly stats: KeyUsageStats;
  private readonly replays = new ReplayLog<VerificationCode>(REPLAY_MAX, VERIFICATION_CODES);
  private readonly signalled = new Map<string, number>();
  private readonly usage: UsageWriter;
  /** Per cached customer state: its current period's usage window (usageWindow). */
  private readonly windows = new WeakMap<CustomerApiState, UsageWindow>();
  /** Whether a requestId was counted before, asked for all the refusals of a tick in one statement. */
  private readonly ledgerHits: DataLoader<{ customerId: string; idempotencyKey: string }, boolean>;

  constructor(private readonly deps: KeyVerifierDeps) {
    const { em, catalog, changes } = deps;
    const trusted = changes ? () => changes.healthy() : undefined;
    this.keys = new TtlCache(
      async (hashes) => {
        const rows = await queryRows<{ id: string; customer_id: string; hash: string; expires_at: Date | string | null; revoked_at: Date | string | null }>(
          em,
          `select id, customer_id, hash, expires_at, revoked_at from api_keys where hash in (select jsonb_array_elements_text(?::jsonb))`,
          [JSON.stringify(hashes)],
        );
        const by = new Map(rows.map((r) => [r.hash, { id: r.id, customerId: r.customer_id, expiresAt: time(r.expires_at), revokedAt: time(r.revoked_at) }]));
        return hashes.map((h) => by.get(h) ?? null);
      },
      FRESH_MS,
      MAX_AGE_MS,
      // An unknown hash stays unknown: a new key's secret is random, never asked for before it exists.
      trusted ? { trusted } : {},
    );
    this.states = new TtlCache((ids) => loadCustomerApiStates(em, catalog, ids), FRESH_MS, MAX_AGE_MS, {
      ...(trusted ? { trusted } : {}),
      // Grace and soft suspension end at a stored moment, without a write to tell anyone.
      volatile: (s) => s !== null && (s.access === 'GRACE' || s.access === 'SOFT_SUSPENDED'),
    });
    changes?.subscribe(
      (customerIds) => {
        this.keys.deleteWhere((k) => k !== null && customerIds.has(k.customerId));
        this.states.invalidate(customerIds);
      },
      () => {
        this.keys.clear();
        this.states.clear();
      },
    );
    this.quotas = new QuotaCounters(em);
    this.rate = new KeyRateLimiter(deps.redis);
    this.stats = new KeyUsageStats(em, deps.log);
    // One statement at a time, and at most one per `INSERT_GAP_MS`: nobody waits for these rows, so they
    // may as well gather (a statement costs the process more than a verification does).
    this.usage = new UsageWriter(em, this.quotas, deps.log, INSERT_GAP_MS, deps.onUsageRecorded);
    this.ledgerHits = new DataLoader((pairs) => findUsageRows(em, pairs).then((found) => pairs.map((p) => found.has(usagePairKey(p.customerId, p.idempotencyKey)))), {
      cache: false,
      maxBatchSize: 500,
    });
  }

  /** After a roll or revoke on this process: the old secret stops here at once. */
  forgetKey(keyId: string): void {
    this.keys.deleteWhere((k) => k?.id === keyId);
  }

  async verify(input: VerifyInput): Promise<VerificationView> {
    return this.check(input);
  }

  /**
   * `verify`, answered synchronously when it can be: with the key and its customer cached and no rate
   * limit to count (or an in-process one), nothing here waits; with Redis, the one wait is its round
   * trip. The HTTP route uses this directly (no promise, no microtask per cached step).
   */
  check(input: VerifyInput): VerificationView | Promise<VerificationView> {
    const cost = input.cost ?? 1;
    const requestId = input.requestId ?? null;
    // A typo, a truncated key, another service's token: NOT_FOUND without a hash or a lookup.
    if (!isWellFormedSecret(input.key)) return this.done(null, answer('NOT_FOUND'));
    const key = this.keys.get(hashSecret(input.key));
    return key instanceof Promise ? key.then((k) => this.checkKey(k, cost, requestId)) : this.checkKey(key, cost, requestId);
  }

  private checkKey(key: KeyRecord | null, cost: number, requestId: string | null): VerificationView | Promise<VerificationView> {
    if (!key) return this.done(null, answer('NOT_FOUND'));
    // The ledger's idempotency key of this (key, requestId) is also the replay's id: one string for both.
    const ledgerKey = requestId === null ? null : `apikey:${key.id}:${requestId}`;
    if (ledgerKey) {
      const hit = this.replays.get(ledgerKey, Date.now());
      if (hit) return hit;
    }
    const result = this.decide(key, cost, ledgerKey);
    if (result instanceof Promise) return result.then((r) => this.decided(key, ledgerKey, r));
    return this.decided(key, ledgerKey, result);
  }

  private decided(key: KeyRecord, replayId: string | null, result: VerificationView): VerificationView {
    if (replayId) this.remember(replayId, result);
    return this.done(key, result);
  }

  private decide(key: KeyRecord, cost: number, ledgerKey: string | null): VerificationView | Promise<VerificationView> {
    const now = Date.now();
    if (key.revokedAt !== null) return answer('REVOKED', key);
    if (key.expiresAt !== null && key.expiresAt <= now) return answer('EXPIRED', key);
    const state = this.states.get(key.customerId);
    return state instanceof Promise ? state.then((s) => this.decideFor(key, s, cost, ledgerKey, now)) : this.decideFor(key, state, cost, ledgerKey, now);
  }

  private decideFor(key: KeyRecord, state: CustomerApiState | null, cost: number, ledgerKey: string | null, now: number): VerificationView | Promise<VerificationView> {
    if (!state) return answer('NO_SUBSCRIPTION', key);
    if (state.access === 'NONE') return answer('NO_SUBSCRIPTION', key, state);
    if (state.access === 'SUSPENDED') return answer('SUSPENDED', key, state);
    if (state.limits.rateLimitPerMinute === null) return this.metered(key, state, cost, ledgerKey, now, null);
    return this.rate.hit(key.id).then((window) => this.counted(key, state, cost, ledgerKey, now, window));
  }

  /** After the rate-limit count (null: the store failed, verification fails open). */
  private counted(key: KeyRecord, state: CustomerApiState, cost: number, ledgerKey: string | null, now: number, window: RateWindow | null): VerificationView | Promise<VerificationView> {
    if (!window) return this.metered(key, state, cost, ledgerKey, now, null);
    const perMinute = state.limits.rateLimitPerMinute!;
    const rateLimit = { limit: perMinute, remaining: Math.max(0, perMinute - window.count), resetAt: window.resetAt };
    if (window.count <= perMinute) return this.metered(key, state, cost, ledgerKey, now, rateLimit);
    return (async () => {
      if (ledgerKey && (await this.countedBefore(state, ledgerKey))) return this.validAgain(key, state, rateLimit);
      this.limitReached({ code: 'RATE_LIMITED', keyId: key.id, customerId: key.customerId, plan: state.planId, limit: perMinute, windowStart: new Date(window.resetAt.getTime() - 60_000), windowEnd: window.resetAt });
      return answer('RATE_LIMITED', key, state, rateLimit, await this.quotaState(state, 0));
    })();
  }

  /** Quota and metering, once the rate limit let the call through. */
  private metered(key: KeyRecord, state: CustomerApiState, cost: number, ledgerKey: string | null, now: number, rateLimit: VerificationView['rateLimit']): VerificationView | Promise<VerificationView> {
    if (!state.meterEventName || !state.period) return answer('VALID', key, state, rateLimit, null);
    // Usage is stamped and counted on the customer's clock (a test clock's frozen time in the sandbox), as reportUsage does.
    const at = state.clockNow ? state.clockNow.getTime() : now;
    const { period, usageKey } = this.usageWindow(state, at);
    const used = this.quotas.used(usageKey, state.limits.quota === null ? UNCAPPED_USAGE_TTL_MS : QUOTA_REREAD_MS);
    return typeof used === 'number' ? this.admit(key, state, cost, ledgerKey, rateLimit, at, period, usageKey, used) : used.then((u) => this.admit(key, state, cost, ledgerKey, rateLimit, at, period, usageKey, u));
  }

  private admit(
    key: KeyRecord,
    state: CustomerApiState,
    cost: number,
    ledgerKey: string | null,
    rateLimit: VerificationView['rateLimit'],
    at: number,
    period: { start: Date; end: Date },
    usageKey: UsageQuantityKey,
    used: number,
  ): VerificationView | Promise<VerificationView> {
    const quota = state.limits.quota;
    if (quota !== null && used + cost > quota) {
      return (async () => {
        if (ledgerKey && (await this.countedBefore(state, ledgerKey))) return this.validAgain(key, state, rateLimit);
        this.limitReached({ code: 'QUOTA_EXCEEDED', keyId: key.id, customerId: key.customerId, plan: state.planId, limit: quota, windowStart: period.start, windowEnd: period.end });
        return answer('QUOTA_EXCEEDED', key, state, rateLimit, quotaView(quota, used, period.end));
      })();
    }
    // Written behind the answer (usage-writer.ts); the reservation holds the units meanwhile. A requestId
    // counted before (another replica, a restart) is simply not inserted again.
    this.usage.add(state.id, state.meterEventName!, cost, at, ledgerKey ?? `apikey:${key.id}:${randomUUID()}`, this.quotas.reserve(usageKey, cost));
    return answer('VALID', key, state, rateLimit, quotaView(quota, used + cost, period.end));
  }

  /**
   * The customer's current billing period at `t` (epoch ms) and its quota counter's key, the same objects
   * for every verification in that period (no period, Dates or counter key per verification).
   */
  private usageWindow(state: CustomerApiState, t: number): UsageWindow {
    let w = this.windows.get(state);
    if (!w || t < w.period.start.getTime() || t >= w.period.end.getTime()) {
      const period = periodAt(state.period!, new Date(t));
      w = { period, usageKey: { customerId: state.id, eventName: state.meterEventName!, from: period.start, to: period.end } };
      this.windows.set(state, w);
    }
    return w;
  }

  /** Whether a VALID answer already counted this requestId (asked only on the refusal path). */
  private async countedBefore(state: CustomerApiState, ledgerKey: string): Promise<boolean> {
    return this.ledgerHits.load({ customerId: state.id, idempotencyKey: ledgerKey });
  }

  private async validAgain(key: KeyRecord, state: CustomerApiState, rateLimit: VerificationView['rateLimit']): Promise<VerificationView> {
    return answer('VALID', key, state, rateLimit, await this.quotaState(state, 0));
  }

  private async quotaState(state: CustomerApiState, extra: number): Promise<VerificationView['quota']> {
    if (!state.meterEventName || !state.period) return null;
    const period = periodAt(state.period, state.clockNow ?? new Date());
    const used = await this.quotas.used({ customerId: state.id, eventName: state.meterEventName, from: period.start, to: period.end }, state.limits.quota === null ? UNCAPPED_USAGE_TTL_MS : QUOTA_REREAD_MS);
    return quotaView(state.limits.quota, used + extra, period.end);
  }

  private limitReached(e: LimitReached): void {
    if (!this.deps.onLimitReached) return;
    const id = `${e.keyId}\u0000${e.code}`;
    const until = this.signalled.get(id);
    // Still inside the window this key already signalled for.
    if (until !== undefined && until > Date.now()) return;
    if (this.signalled.size >= REPLAY_MAX) this.signalled.clear();
    this.signalled.set(id, e.windowEnd.getTime());
    try {
      this.deps.onLimitReached(e);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'API key limit signal failed');
    }
  }

  private remember(replayId: string, result: VerificationView): void {
    this.replays.set(replayId, result, Date.now() + REPLAY_TTL_MS);
  }

  private done(key: KeyRecord | null, result: VerificationView): VerificationView {
    if (key) this.stats.record(key.id, result.code, Date.now());
    this.deps.onVerified?.(result.code);
    return result;
  }

  start(): void {
    this.stats.start();
  }

  async stop(): Promise<void> {
    // Pending ledger rows first (each retried a few times), then the key stats.
    await this.usage.drain();
    await this.stats.stop();
  }
}

function quotaView(limit: number | null, used: number, resetAt: Date): NonNullable<VerificationView['quota']> {
  return { limit, used, remaining: limit === null ? null : Math.max(0, limit - used), resetAt };
}

function answer(
  code: VerificationCode,
  key: KeyRecord | null = null,
  state: CustomerApiState | null = null,
  rateLimit: VerificationView['rateLimit'] = null,
  quota: VerificationView['quota'] = null,
): VerificationView {
  return {
    valid: code === 'VALID',
    code,
    keyId: key?.id ?? null,
    customerId: key?.customerId ?? null,
    externalId: state?.externalId ?? null,
    plan: state?.planId ?? null,
    rateLimit,
    quota,
  };
}
