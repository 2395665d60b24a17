/**
 * What a meter-event request's failure means for its ledger row. Stripe's answers, by status:
 * 429 → slow down (the row is not at fault); 400 "An event already exists with identifier …" → Stripe
 * already holds this row (a resend after a crash): delivered; other 4xx → rejected (retried a few
 * times, then parked); 401/403 → the key (every row fails alike; retried, never parked); 409, 5xx and
 * network errors → transient (retried with backoff, never parked).
 */
export type FailureKind = 'rate_limited' | 'rejected' | 'auth' | 'transient';

export type SendFailure =
  | { kind: 'duplicate' }
  | { kind: 'rate_limited'; retryAfterMs?: number }
  | { kind: Exclude<FailureKind, 'rate_limited'>; reason: string };

interface StripeLikeError {
  statusCode?: number;
  type?: string;
  rawType?: string;
  code?: string;
  message?: string;
  headers?: Record<string, string | string[] | undefined>;
}

const DUPLICATE_IDENTIFIER = /^An event already exists with identifier /;
const SECRET = /\b(sk|rk|pk)_(live|test)_[A-Za-z0-9*]+|\bwhsec_[A-Za-z0-9]+/g;

export function classifySendError(err: unknown): SendFailure {
  const e = (err ?? {}) as StripeLikeError;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status === 429 || e.type === 'StripeRateLimitError' || e.code === 'rate_limit') {
    return { kind: 'rate_limited', ...optionalRetryAfter(e.headers) };
  }
  if (status === 400 && DUPLICATE_IDENTIFIER.test(e.message ?? '')) return { kind: 'duplicate' };
  const reason = reasonOf(err);
  if (status === 401 || status === 403) return { kind: 'auth', reason };
  if (status !== undefined && status >= 400 && status < 500 && status !== 409) return { kind: 'rejected', reason };
  return { kind: 'transient', reason };
}

/** One line, no secret, bounded: safe for `last_error` and logs. */
export function reasonOf(err: unknown): string {
  const e = err as StripeLikeError | null;
  const msg = err instanceof Error ? err.message : String(err);
  const status = typeof e?.statusCode === 'number' ? `${e.statusCode} ` : '';
  const type = e?.rawType ?? (err instanceof Error ? err.name : 'Error');
  const code = e?.code ? ` (${e.code})` : '';
  return `${status}${type}${code}: ${msg}`.split('\n')[0]!.replace(SECRET, '[redacted]').slice(0, 500);
}

/** `Retry-After` as seconds or an HTTP date, in ms; absent or unreadable → nothing. */
function optionalRetryAfter(headers: StripeLikeError['headers']): { retryAfterMs?: number } {
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return {};
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return { retryAfterMs: seconds * 1000 };
  const date = Date.parse(value);
  return Number.isNaN(date) ? {} : { retryAfterMs: Math.max(0, date - Date.now()) };
}
