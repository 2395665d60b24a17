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

/**
 * `value` with every string and object key PostgreSQL cannot hold made storable (U+FFFD in place of
 * U+0000 and lone surrogates). Copies only the objects and arrays on the way to a change; returns
 * `value` itself when nothing needed one, so the common case costs one walk and no allocation.
 */
export function toStorableText<T>(value: T): T {
  if (typeof value === 'string') return toStorableString(value) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = toStorableText(value[i] as unknown);
      if (v !== value[i]) (out ??= [...value])[i] = v;
    }
    return (out ?? value) as T;
  }
  if (isPlainObject(value)) {
    let out: Record<string, unknown> | null = null;
    for (const [k, v] of Object.entries(value)) {
      const key = toStorableString(k);
      const next = toStorableText(v);
      if (key === k && next === v) continue;
      out ??= { ...value };
      if (key !== k) delete out[k];
      out[key] = next;
    }
    return (out ?? value) as T;
  }
  return value;
}
