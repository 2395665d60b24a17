/**
 * A typed GraphQL client for the gateway in a few lines: `fetch` plus the types GraphQL Code
 * Generator's client preset writes from schema.graphql and examples/operations/*.graphql
 * (`npm run codegen:examples`). A wrong field, argument or variable is a type error, checked by
 * `npm run typecheck`.
 *
 * Run against a gateway: GATEWAY_URL=http://localhost:4000/graphql TOKEN=<jwt> node --experimental-transform-types examples/typed-client/client.ts
 */
import type { ErrorCode } from './gql/enums.ts';
import { CustomerUsageDocument, ReportUsageDocument, ResumeDocument, SubscriptionsPageDocument, type SubscriptionsPageQuery, type TypedDocumentString } from './gql/graphql.ts';

/** A GraphQL error as the gateway sends it: `extensions.code` is one of the schema's ErrorCode values. */
export interface GatewayError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: ErrorCode; field?: string; declineCode?: string; clientSecret?: string };
}

/** Partial results survive: `data` holds every field that resolved, `errors` the ones that did not. */
export interface GatewayResult<TResult> {
  data?: TResult | null;
  errors?: GatewayError[];
}

export async function request<TResult, TVariables>(
  url: string,
  token: string | null,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<GatewayResult<TResult>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  return (await res.json()) as GatewayResult<TResult>;
}

/** Every subscription the token may see, one page at a time (typed all the way down). */
export async function* allSubscriptions(url: string, token: string, pageSize = 50) {
  let after: string | null = null;
  do {
    const result: GatewayResult<SubscriptionsPageQuery> = await request(url, token, SubscriptionsPageDocument, { first: pageSize, after });
    const page = result.data?.subscriptionsConnection;
    if (result.errors?.length || !page) throw new Error(result.errors?.[0]?.message ?? 'no data');
    yield* page.nodes;
    after = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null;
  } while (after);
}

/** Records one unit of usage; a repeated key answers the original record. */
export async function recordCall(url: string, token: string, requestId: string): Promise<boolean> {
  const { data, errors } = await request(url, token, ReportUsageDocument, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: requestId } });
  if (errors?.some((e) => e.extensions?.code === 'BAD_USER_INPUT')) throw new Error(`bad usage record: ${errors[0]!.message}`);
  return data?.reportUsage?.duplicate === false;
}

/** Undoes a pending cancellation; null when the gateway refused (the error says why). */
export async function resume(url: string, token: string, subscriptionId: string) {
  const { data, errors } = await request(url, token, ResumeDocument, { input: { subscriptionId } });
  return data?.resume ?? (errors?.[0]?.extensions?.code === 'NOT_FOUND' ? null : Promise.reject(new Error(errors?.[0]?.message)));
}

if (import.meta.main) {
  const url = process.env.GATEWAY_URL ?? 'http://localhost:4000/graphql';
  const token = process.env.TOKEN ?? null;
  const { data, errors } = await request(url, token, CustomerUsageDocument, {});
  for (const u of data?.customer?.usage ?? []) console.log(`${u.meter}: ${u.quantity} of ${u.included} included (${u.overage} over)`);
  for (const e of errors ?? []) console.error(`${e.extensions?.code}: ${e.message}`);
}
