import { invalidRequest } from '../errors.js';

/**
 * Checks a URL the pages will redirect or link to (`success_url`, `cancel_url`, `return_url`):
 * an absolute http(s) URL without control characters, as Stripe asks. This keeps `javascript:`
 * links off the pages and CR/LF out of the `Location` header.
 * `{CHECKOUT_SESSION_ID}` (Stripe's template variable) is allowed.
 */
export function checkRedirectUrl(value: string | null | undefined, param: string): void {
  if (value === null || value === undefined) return;
  const candidate = value.replaceAll('{CHECKOUT_SESSION_ID}', 'cs');
  const ok =
    !/[\u0000-\u001f\u007f]/.test(value) &&
    URL.canParse(candidate) &&
    ['http:', 'https:'].includes(new URL(candidate).protocol);
  if (!ok) throw invalidRequest('Not a valid URL', param, 'url_invalid');
}
