import { AsyncLocalStorage } from 'node:async_hooks';

/** The API request being handled, so events can carry Stripe's `request: { id, idempotency_key }`. */
export interface RequestInfo {
  id: string;
  idempotencyKey: string | null;
}

export const requestContext = new AsyncLocalStorage<RequestInfo>();

export function currentRequest(): { id: string | null; idempotency_key: string | null } {
  const r = requestContext.getStore();
  return { id: r?.id ?? null, idempotency_key: r?.idempotencyKey ?? null };
}
