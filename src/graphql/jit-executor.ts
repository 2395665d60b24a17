/**
 * Apollo's execution step, with the queries a client sends again and again compiled by graphql-jit.
 * graphql-js interprets every field of every answer (arguments, completion, list and null checks per
 * value); a compiled operation is plain JavaScript for that one document, so a read of a customer with
 * ten invoices and their lines costs the server less per request (bench `peers`, reads).
 *
 * Plugged in as Apollo's executor (its gateway interface, the one public way to replace execution with
 * everything around it kept: parsing, validation and the query limits, `formatError`, the HTTP status
 * of errors, plugins). Apollo keeps one parsed document per distinct query text, so a document is
 * known by identity: it is compiled the second time it is executed. A document seen once (an
 * exploratory or hostile query) never pays for a compilation, and runs through graphql-js as before;
 * so do mutations, and every answer that has errors. Subscriptions and operations over the WebSocket
 * are not touched (src/http/graphql-ws.ts).
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { execute, OperationTypeNode, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { Counter } from 'prom-client';
import { metricsRegistry } from '../metrics.js';

type Gateway = NonNullable<ApolloServerOptionsWithGateway<BaseContext>['gateway']>;
type Executor = NonNullable<Awaited<ReturnType<Gateway['load']>>['executor']>;

export const compiledOperations = new Counter({
  name: 'graphql_operations_compiled_total',
  help: 'GraphQL operations compiled by graphql-jit on their second execution: compiled, or declined (graphql-js keeps running them).',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

/** The execution of a document that compiles it (the ones before run interpreted). */
export const COMPILE_ON_EXECUTION = 2;

interface Compiled {
  executions: number;
  /** undefined: not compiled yet; null: graphql-jit declined it (graphql-js runs it). */
  query?: CompiledQuery | null;
}

/** The compiled operation, or null where graphql-jit cannot compile it (graphql-js then runs it, as before). */
function compiled(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledQuery | null {
  try {
    const result = compileQuery(schema, document, operationName);
    return isCompiledQuery(result) ? result : null;
  } catch {
    return null;
  }
}

/** Apollo's `gateway` option: serves `schema`, and executes its operations as described above. */
export function jitGateway(schema: GraphQLSchema): Gateway {
  // Documents are Apollo's cached parses: an entry goes when Apollo drops the document.
  const byDocument = new WeakMap<DocumentNode, Map<string, Compiled>>();

  function entryOf(document: DocumentNode, operationName: string): Compiled {
    let operations = byDocument.get(document);
    if (!operations) byDocument.set(document, (operations = new Map()));
    let entry = operations.get(operationName);
    if (!entry) operations.set(operationName, (entry = { executions: 0 }));
    return entry;
  }

  async function run(
    document: DocumentNode,
    operation: OperationTypeNode | undefined,
    operationName: string | null | undefined,
    context: unknown,
    variables: Record<string, unknown> | undefined,
  ): Promise<ExecutionResult> {
    // Queries only: a mutation is not sent again and again, and it must never run twice (below).
    if (operation === OperationTypeNode.QUERY) {
      const entry = entryOf(document, operationName ?? '');
      if (entry.query === undefined && ++entry.executions >= COMPILE_ON_EXECUTION) {
        entry.query = compiled(schema, document, operationName ?? undefined);
        compiledOperations.inc({ outcome: entry.query ? 'compiled' : 'declined' });
      }
      if (entry.query) {
        const result = await entry.query.query(undefined, context, variables ?? {});
        // An answer with errors is graphql-js's: graphql-jit words some differently (refused variables
        // are not Apollo's BAD_USER_INPUT; a leaf's serialisation error inside a list loses its path).
        // Errors are rare on a query sent again and again, and a query has no effects to repeat.
        if (!result.errors?.length) return result;
      }
    }
    return execute({ schema, document, contextValue: context, variableValues: variables, operationName });
  }

  const executor: Executor = async (requestContext) =>
    run(requestContext.document, requestContext.operation?.operation, requestContext.operationName, requestContext.context, requestContext.request.variables);

  return {
    // The schema never changes while the server runs: told once, at subscription.
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    load: async () => ({ executor }),
    stop: async () => undefined,
  };
}
