/**
 * GraphQL input that PostgreSQL could not hold (U+0000, lone surrogates: src/text/storable.ts) is
 * refused before execution, over HTTP and WebSocket alike, with BAD_USER_INPUT naming the argument
 * (`input.email`) or variable path. Checked once here rather than per resolver, so no service ever
 * sees such text and nothing is created at Stripe before a database write fails on it.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { BREAK, GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from 'graphql';
import { badUserInput } from '../errors.js';
import { findUnstorableText, isStorableText } from '../text/storable.js';

/** Path of the first unstorable string under a literal value (`input.email`, `ids[1]`), or null. */
function literalPath(node: ValueNode, path: string): string | null {
  switch (node.kind) {
    case Kind.STRING:
      return isStorableText(node.value) ? null : path;
    case Kind.LIST:
      for (const [i, v] of node.values.entries()) {
        const found = literalPath(v, `${path}[${i}]`);
        if (found !== null) return found;
      }
      return null;
    case Kind.OBJECT:
      for (const f of node.fields) {
        const found = literalPath(f.value, `${path}.${f.name.value}`);
        if (found !== null) return found;
      }
      return null;
    default:
      return null;
  }
}

/** `unstorableLiteral` per parsed document (Apollo reuses the parsed document of a repeated query). */
const literalsChecked = new WeakMap<DocumentNode, string | null>();

/** The first unstorable string literal in the document's arguments or variable defaults, by its path. */
function unstorableLiteral(document: DocumentNode): string | null {
  let found = literalsChecked.get(document);
  if (found !== undefined) return found;
  found = findUnstorableLiteral(document);
  literalsChecked.set(document, found);
  return found;
}

function findUnstorableLiteral(document: DocumentNode): string | null {
  let found: string | null = null;
  visit(document, {
    Argument(node) {
      found = literalPath(node.value, node.name.value);
      return found === null ? false : BREAK;
    },
    VariableDefinition(node) {
      found = node.defaultValue ? literalPath(node.defaultValue, node.variable.name.value) : null;
      return found === null ? false : BREAK;
    },
  });
  return found;
}

/** The BAD_USER_INPUT error for input PostgreSQL could not hold, or null when all of it is storable. */
export function checkStorableInput(document: DocumentNode, variables: Record<string, unknown> | null | undefined): GraphQLError | null {
  const field = findUnstorableText(variables ?? {}) ?? unstorableLiteral(document);
  if (field === null) return null;
  const e = badUserInput(field, `${field}: text may not contain U+0000 or unpaired surrogate characters`);
  return new GraphQLError(e.message, { extensions: e.extensions });
}

/** Apollo plugin: refuses such input after the operation is resolved, before anything executes. */
export function storableInputPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const error = checkStorableInput(document, request.variables);
          // 400, as for other input refused before execution (Apollo answers with extensions.http and strips it).
          if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
        },
      };
    },
  };
}
