/**
 * Text PostgreSQL cannot hold: U+0000 (text columns refuse NUL, jsonb refuses `\u0000`) and lone
 * UTF-16 surrogates (no UTF-8 encoding; jsonb refuses their `\uD800` escapes). The boundaries use
 * this module: client input (GraphQL arguments, token claims) with such text is refused; Stripe's
 * payloads are stored as received elsewhere and mirrored with it replaced by U+FFFD.
 */

export const REPLACEMENT_CHARACTER = '\uFFFD';

/** ES2024's well-formed string methods (Node ≥ 20; the project's TypeScript lib predates them). */
type WellFormed = string & { isWellFormed(): boolean; toWellFormed(): string };

/** True when PostgreSQL can store `s` as it is. */
export function isStorableText(s: string): boolean {
  return (s as WellFormed).isWellFormed() && !s.includes('\u0000');
}

/** `s` with U+0000 and lone surrogates replaced by U+FFFD (the same string when there are none). */
export function toStorableString(s: string): string {
  return isStorableText(s) ? s : (s as WellFormed).toWellFormed().replaceAll('\u0000', REPLACEMENT_CHARACTER);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (!v || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/**
 * The path (`input.email`, `records[2].meter`) of the first string or object key under `value` that
 * PostgreSQL cannot hold; null when there is none. Only strings, arrays and plain objects are walked.
 */
export function findUnstorableText(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return isStorableText(value) ? null : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!isStorableText(k)) return join(path, toStorableString(k));
      const found = findUnstorableText(v, join(path, k));
      if (found !== null) return found;
    }
  }
  return null;
}

/** True when some string or key under `value` cannot be stored; no allocation (the common answer is no). */
function holdsUnstorable(value: unknown): boolean {
  if (typeof value === 'string') return !isStorableText(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (holdsUnstorable(value[i])) return true;
    return false;
  }
  if (isPlainObject(value)) {
    for (const k in value) if (!isStorableText(k) || holdsUnstorable(value[k])) return true;
  }
  return false;
}

/** A copy of `value` with every unstorable string and key replaced (only called when there is one). */
function replaced(value: unknown): unknown {
  if (typeof value === 'string') return toStorableString(value);
  if (Array.isArray(value)) return value.map(replaced);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k in value) out[toStorableString(k)] = replaced(value[k]);
    return out;
  }
  return value;
}

/**
 * Objects known to hold only storable text: those a walk found clean, and those parsed from JSON text
 * without a `\u0000` or surrogate escape (`markStorable`). Stripe's objects are never modified in place
 * once received (a change is a copy, walked again), so the answer holds for as long as they live, and
 * an object the mirror writes twice (the dispatch, then its table's writer) is walked once.
 */
const knownStorable = new WeakSet<object>();

/** Records that `value` holds only storable text (parsed from JSON text that has no escape for it). */
export function markStorable(value: object): void {
  knownStorable.add(value);
}

/**
 * `value` with every string and object key PostgreSQL cannot hold made storable (U+FFFD in place of
 * U+0000 and lone surrogates), as a copy; `value` itself when nothing needed replacing, which is one
 * walk without allocation (none for an object known clean).
 */
export function toStorableText<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return holdsUnstorable(value) ? (replaced(value) as T) : value;
  if (knownStorable.has(value)) return value;
  if (holdsUnstorable(value)) return replaced(value) as T;
  knownStorable.add(value);
  return value;
}
