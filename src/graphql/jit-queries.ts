/**
 * The queries a client sends again and again, executed by graphql-jit. graphql-js interprets every
 * field of every answer (arguments, completion, list and null checks per value); a compiled operation
 * is plain JavaScript for that one document, so a read of a customer with ten invoices and their lines
 * costs the server less per request (bench `peers`, reads).
 *
 * An Apollo plugin answering at `responseForOperation`, after parsing, validation, the query limits and
 * the operation's resolution, and in place of execution. Apollo keeps one parsed document per distinct
 * query text, so a document is known by identity: it is compiled the second time it is executed. A
 * document seen once (an exploratory or hostile query) never pays for a compilation, and Apollo runs
 * it through graphql-js as before; so it does mutations, and every query whose compiled answer has
 * errors (graphql-jit words some differently: refused variables are not Apollo's BAD_USER_INPUT, a
 * leaf's serialisation error inside a list loses its path). Running such a query again is safe only
 * because what is compiled reads the mirror alone: a query that selects a field calling Stripe
 * (`STRIPE_CALLS`) or one that changes something (`EFFECTS`, e.g. `verifyApiKey` counting usage and
 * rate limits) is never compiled, so it never runs twice. Subscriptions and operations over the
 * WebSocket are not touched (src/http/graphql-ws.ts).
 *
 * Apollo's gateway interface (its other way to replace execution) was tried first: answers were the
 * same, but every request's objects then outlived the young generation, so scavenges took 10–14 ms
 * instead of 2–4 and the slowest requests got slower.
 */
import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLResponse } from '@apollo/server';
import { BREAK, OperationTypeNode, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { Counter } from 'prom-client';
import { metricsRegistry } from '../metrics.js';
import { STRIPE_CALLS } from './limits.js';

/**
 * Marks a query field whose resolution changes something (`@Extensions({ [EFFECTS]: true })`): an
 * operation selecting it is never compiled, since a compiled answer with errors is answered again.
 */
export const EFFECTS = 'effects';

export const compiledOperations = new Counter({
  name: 'graphql_operations_compiled_total',
  help: 'GraphQL queries compiled by graphql-jit on their second execution: compiled, or declined (graphql-jit cannot compile it, or it calls Stripe or changes something: graphql-js keeps running it).',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export const compiledAnswers = new Counter({
  name: 'graphql_compiled_answers_total',
  help: 'Executions of compiled queries: answered, or with errors (then answered again by graphql-js).',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

/** The execution of a document that compiles it (the ones before run interpreted). */
export const COMPILE_ON_EXECUTION = 2;

interface Compiled {
  executions: number;
  /** undefined: not compiled yet; null: declined (graphql-js runs it). */
  query?: CompiledQuery | null;
}

/** Whether any field the document selects (its fragments included) calls Stripe or changes something. */
function selectsEffects(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const extensions = typeInfo.getFieldDef()?.extensions;
        if (!extensions?.[EFFECTS] && !extensions?.[STRIPE_CALLS]) return undefined;
        found = true;
        return BREAK;
      },
    }),
  );
  return found;
}

/**
 * The compiled operation, or null where it is not compiled: it calls Stripe or changes something, or
 * graphql-jit cannot compile it (graphql-js then runs it, as before).
 */
function compiled(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledQuery | null {
  if (selectsEffects(schema, document)) return null;
  try {
    const result = compileQuery(schema, document, operationName);
    return isCompiledQuery(result) ? result : null;
  } catch {
    return null;
  }
}

/** The plugin, for the server's `schema`. */
export function jitQueriesPlugin<TContext extends BaseContext>(schema: GraphQLSchema): ApolloServerPlugin<TContext> {
  // Documents are Apollo's cached parses: an entry goes when Apollo drops the document.
  const byDocument = new WeakMap<DocumentNode, Map<string, Compiled>>();

  function entryOf(document: DocumentNode, operationName: string): Compiled {
    let operations = byDocument.get(document);
    if (!operations) byDocument.set(document, (operations = new Map()));
    let entry = operations.get(operationName);
    if (!entry) operations.set(operationName, (entry = { executions: 0 }));
    return entry;
  }

  const listener: Awaited<ReturnType<NonNullable<ApolloServerPlugin<TContext>['requestDidStart']>>> = {
    async responseForOperation(requestContext): Promise<GraphQLResponse | null> {
      const { document, operation, operationName } = requestContext;
      if (operation.operation !== OperationTypeNode.QUERY) return null;
      const entry = entryOf(document, operationName ?? '');
      if (entry.query === undefined && ++entry.executions >= COMPILE_ON_EXECUTION) {
        entry.query = compiled(schema, document, operationName ?? undefined);
        compiledOperations.inc({ outcome: entry.query ? 'compiled' : 'declined' });
      }
      if (!entry.query) return null;
      let data: Record<string, unknown> | null | undefined;
      try {
        const result = await entry.query.query(undefined, requestContext.contextValue, requestContext.request.variables ?? {});
        if (!result.errors?.length) data = result.data as Record<string, unknown> | null | undefined;
      } catch {
        // A compiled query that throws (not a resolver's error: those are in `errors`) is answered by graphql-js too.
      }
      if (data == null) {
        compiledAnswers.inc({ outcome: 'errors' });
        return null;
      }
      compiledAnswers.inc({ outcome: 'answered' });
      return { body: { kind: 'single', singleResult: { data } }, http: { status: undefined, headers: new HeaderMap() } };
    },
  };
  // One listener for every request: it keeps nothing of a request.
  return { requestDidStart: async () => listener };
}
