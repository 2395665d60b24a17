/** Helpers shared by the mirror writers. */

/**
 * Options every upsert accepts. The convergence rule (is this copy the newest?) lives with the caller
 * (the webhook event handler); the writer only records what it was told:
 * `last_event_at := lastEventAt ?? null` (null means "written from an API response or a re-read",
 * as the entity documents), so a stale event timestamp never survives a fresher API copy.
 */
export interface MirrorWriteOptions {
  /** `created` of the Stripe event whose payload (or re-read) this copy is. */
  lastEventAt?: Date;
  /** The type of that event when this copy is its payload (not a re-read): the copy is the state at `lastEventAt`. */
  eventType?: string;
}

/** Input the mirror cannot store as given (a clear message, nothing written). */
export class MirrorInputError extends Error {
  override name = 'MirrorInputError';
}

/** Unix seconds → Date. */
export const at = (unixSeconds: number): Date => new Date(unixSeconds * 1000);
export const atOrNull = (unixSeconds: number | null | undefined): Date | null =>
  unixSeconds === null || unixSeconds === undefined ? null : at(unixSeconds);

/**
 * The id of an expandable field (`'cus_1'` or `{ id: 'cus_1', … }`), or null. Takes `unknown` too:
 * event payloads reach the webhook handlers untyped.
 */
export function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  const id = value && typeof value === 'object' ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : null;
}

/**
 * `value` as JSON carries it, for `raw`: Stripe `Decimal` instances (any object with a `toJSON`) become
 * what their `toJSON` returns, which is how they read back from the jsonb column. What is JSON-safe
 * already is shared, not copied: the objects come parsed from JSON (API answers, webhook payloads), and
 * a JSON round trip of each one cost four times as much (15.7 against 3.5 ms for the invoices and
 * subscriptions of sync --full's lists), most of it garbage. Only the objects on a path to a
 * replaced value are new; other class instances take the JSON round trip.
 */
export function plain<T>(value: T): T {
  return jsonSafe(value) as T;
}

function jsonSafe(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const safe = jsonSafe(v);
      if (safe !== v) (out ??= value.slice())[i] = safe;
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    return typeof toJSON === 'function' ? jsonSafe(toJSON.call(value)) : (JSON.parse(JSON.stringify(value)) as unknown);
  }
  let out: Record<string, unknown> | null = null;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    const safe = jsonSafe(v);
    if (safe !== v) (out ??= { ...(value as Record<string, unknown>) })[key] = safe;
  }
  return out ?? value;
}

/**
 * `raw` as stored: `plain(obj)` with the given expandable fields collapsed back to their ids (in a copy
 * of its top level), so the stored copy is the same however the caller expanded the object (a
 * mutation's answer with `expand: ['customer', 'latest_invoice']` and a webhook payload give the same
 * row), and nested objects, which go stale at their own pace, live only in their own tables.
 */
export function rawCopy<T extends object>(obj: T, collapse: readonly string[], drop: readonly string[] = []): T {
  const copy = { ...plain(obj) } as Record<string, unknown>;
  for (const field of collapse) {
    const v = copy[field];
    if (v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string') copy[field] = (v as { id: string }).id;
  }
  for (const field of drop) delete copy[field];
  return copy as T;
}

/** Stripe metadata as a plain string map. */
export const metadataOf = (m: Record<string, string> | null | undefined): Record<string, string> => ({ ...(m ?? {}) });
