import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from '../gql/graphql';

export const GRAPHQL_PATH = '/graphql';

/** A GraphQL error as the gateway sends it: `extensions.code` says what went wrong. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
  get isAuth(): boolean {
    return this.code === 'UNAUTHENTICATED' || this.code === 'FORBIDDEN';
  }
}

type Variables<V> = V extends Record<string, never> ? [variables?: V] : [variables: V];

/** One query or mutation over HTTP POST; the first GraphQL error is thrown as an ApiError. */
export async function request<R, V>(token: string, doc: TypedDocumentString<R, V>, ...[variables]: Variables<V>): Promise<R> {
  let res: Response;
  try {
    res = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: doc.toString(), variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError('The gateway cannot be reached.', 'NETWORK');
  }
  const body = (await res.json().catch(() => null)) as { data?: R; errors?: { message: string; extensions?: { code?: string } }[] } | null;
  const first = body?.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
  if (!body?.data) throw new ApiError(`The gateway answered HTTP ${res.status}.`, 'NETWORK');
  return body.data;
}

/** A graphql-ws client on the same origin, authenticated by connectionParams. */
export function wsClient(token: string, onState?: (connected: boolean) => void): Client {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${GRAPHQL_PATH}`;
  return createClient({
    url,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Infinity,
    on: { connected: () => onState?.(true), closed: () => onState?.(false) },
  });
}

/** Subscribes and calls `next` for each result; returns the unsubscribe function. */
export function subscribe<R, V>(client: Client, doc: TypedDocumentString<R, V>, variables: V, next: (data: R) => void, error?: (e: ApiError) => void): () => void {
  return client.subscribe<R>(
    { query: doc.toString(), variables: variables as Record<string, unknown> },
    {
      next: (r) => {
        if (r.errors?.[0]) error?.(new ApiError(r.errors[0].message, String(r.errors[0].extensions?.code ?? 'INTERNAL_SERVER_ERROR')));
        else if (r.data) next(r.data);
      },
      error: (e) => error?.(new ApiError(e instanceof Error ? e.message : 'The live connection closed.', 'NETWORK')),
      complete: () => undefined,
    },
  );
}

export function newIdempotencyKey(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** Root fields are nullable so that one failing field leaves its siblings' data; `request` throws on any error, so a null here means the gateway broke that promise. */
export function present<T>(value: T | null | undefined, field: string): T {
  if (value == null) throw new ApiError(`The gateway answered no ${field}.`, 'INTERNAL_SERVER_ERROR');
  return value;
}
