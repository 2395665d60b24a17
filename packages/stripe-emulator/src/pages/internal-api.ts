import type { Emulator } from '../emulator.js';
import { StripeError } from '../errors.js';
import { Params } from '../http/params.js';
import type { Router } from '../http/router.js';

type Value = string | number | boolean | null | undefined | Value[] | { [key: string]: Value };

/** Form values as the HTTP layer would decode them: numbers and booleans become strings. */
function asForm(v: Value): unknown {
  if (v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(asForm);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = asForm(x);
    return out;
  }
  return v;
}

/**
 * Runs one of the emulator's own API routes in-process, with the same validation, state changes
 * and events as an SDK request (minus auth, idempotency and expand). The hosted pages use it for
 * what another module owns but only exposes as a route (e.g. creating a customer), so a page
 * never re-implements an API object's shape.
 */
export async function callApi<T>(
  router: Router,
  emu: Emulator,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  params: Record<string, Value> = {},
): Promise<T> {
  const match = router.match(method, path);
  if (!match) {
    throw new StripeError(500, { type: 'api_error', message: `The emulator has no route for ${method} ${path}.` });
  }
  const result = await match.handler({
    emu,
    params: new Params(asForm(params) as Record<string, unknown>),
    path: match.path,
    method,
    url: path,
    headers: {},
  });
  return result as T;
}
