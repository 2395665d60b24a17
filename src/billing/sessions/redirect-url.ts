/**
 * Where Stripe may send the customer back to (portal return_url, checkout success/cancel URLs): an
 * absolute http(s) URL, and, when PORTAL_RETURN_URL_ALLOWLIST is set, on one of its origins. Anything
 * else is BAD_USER_INPUT naming the field, so the gateway is never an open redirect.
 */
import { badUserInput } from '../../errors.js';

export function checkRedirectUrl(value: string, field: string, allowlist: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badUserInput(field, `${field} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badUserInput(field, `${field} must be an absolute http(s) URL`);
  if (url.username || url.password) throw badUserInput(field, `${field} must not carry credentials`);
  if (allowlist.length > 0 && !allowlist.includes(url.origin)) {
    throw badUserInput(field, `${field} must be on an allowed origin (PORTAL_RETURN_URL_ALLOWLIST)`);
  }
  return url.toString();
}

/** Default Checkout URLs when the client gives none: the first allowed origin (else PUBLIC_URL) with `?checkout=…`. */
export function defaultCheckoutUrl(kind: 'success' | 'cancel', allowlist: readonly string[], publicUrl: string): string {
  const base = new URL(allowlist[0] ?? publicUrl);
  base.searchParams.set('checkout', kind);
  return base.toString();
}
