/**
 * Query depth and cost limits, checked on the operation about to run, with its variables
 * (hand-written: no maintained depth/cost library for graphql 16 is installed here, and the check
 * is small). Used by Apollo (a plugin, `didResolveOperation`) and by graphql-ws (`onSubscribe`).
 *
 * - depth: the longest chain of nested field selections (fragments expanded);
 * - cost: every field costs 1, multiplied by the page sizes above it: a field with a `first`
 *   argument multiplies its subtree by that value (the variable's value or default, else the
 *   argument's schema default; capped at MAX_PAGE).
 * Introspection (`__schema`, `__type`) is not counted; it is disabled in production anyway.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

const MAX_PAGE = 100;

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

const defaultsCache = new WeakMap<GraphQLSchema, Map<string, number>>();

/** The `first` defaults of the schema's fields, by field name (the schema uses one default per name). */
function firstDefaults(schema: GraphQLSchema): Map<string, number> {
  let map = defaultsCache.get(schema);
  if (map) return map;
  map = new Map();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const f of Object.values(type.getFields())) {
      const a = f.args.find((x) => x.name === 'first');
      if (a && typeof a.defaultValue === 'number') map.set(f.name, a.defaultValue);
    }
  }
  defaultsCache.set(schema, map);
  return map;
}

export interface OperationMeasure {
  depth: number;
  cost: number;
}

/** Depth and estimated cost of one operation of a (valid) document. */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const defaults = firstDefaults(schema);
  const varDefaults = new Map<string, unknown>();
  for (const v of operation.variableDefinitions ?? []) if (v.defaultValue) varDefaults.set(v.variable.name.value, valueFromASTUntyped(v.defaultValue));

  function pageFactor(field: FieldNode): number {
    const arg = field.arguments?.find((a) => a.name.value === 'first');
    let value: unknown = defaults.get(field.name.value);
    if (arg) {
      if (arg.value.kind === Kind.VARIABLE) {
        const name = arg.value.name.value;
        value = name in variables ? variables[name] : varDefaults.has(name) ? varDefaults.get(name) : value;
      } else {
        value = valueFromASTUntyped(arg.value);
      }
    }
    if (value === undefined && !arg && !defaults.has(field.name.value)) return 1;
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, Math.min(Math.trunc(value), MAX_PAGE)) : MAX_PAGE;
  }

  function measure(set: SelectionSetNode, depth: number, seen: Set<string>): OperationMeasure {
    let maxDepth = depth;
    let cost = 0;
    for (const sel of set.selections) {
      let sub: OperationMeasure;
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value === '__schema' || sel.name.value === '__type') continue;
        sub = sel.selectionSet ? measure(sel.selectionSet, depth + 1, seen) : { depth: depth + 1, cost: 0 };
        cost += 1 + pageFactor(sel) * sub.cost;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        sub = measure(sel.selectionSet, depth, seen);
        cost += sub.cost;
      } else {
        const frag = fragments.get(sel.name.value);
        if (!frag || seen.has(sel.name.value)) continue; // unknown or cyclic: validation reports it
        sub = measure(frag.selectionSet, depth, new Set(seen).add(sel.name.value));
        cost += sub.cost;
      }
      maxDepth = Math.max(maxDepth, sub.depth);
    }
    return { depth: maxDepth, cost };
  }

  return measure(operation.selectionSet, 0, new Set());
}

/** The errors for an operation over the limits (empty when within them). Status 400 over HTTP. */
export function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  const { depth, cost } = measureOperation(schema, document, operation, variables);
  const op = operation.name ? ` "${operation.name.value}"` : '';
  const errors: GraphQLError[] = [];
  const ext = { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } };
  if (depth > limits.maxDepth)
    errors.push(new GraphQLError(`Query${op} is too deep: depth ${depth} exceeds the maximum of ${limits.maxDepth}`, { extensions: { ...ext, limit: 'depth', depth, maxDepth: limits.maxDepth } }));
  if (cost > limits.maxCost)
    errors.push(
      new GraphQLError(`Query${op} is too expensive: estimated cost ${cost} exceeds the maximum of ${limits.maxCost} (lower \`first\` or select fewer fields)`, {
        extensions: { ...ext, limit: 'cost', cost, maxCost: limits.maxCost },
      }),
    );
  return errors;
}

/** Apollo plugin: rejects operations over the limits before they execute (HTTP 400). */
export function queryLimitsPlugin<T extends object>(limits: QueryLimits): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const errors = checkQueryLimits(schema, document, operation, request.variables, limits);
          // Apollo answers a thrown GraphQLError with its extensions.http status.
          if (errors.length) throw errors[0];
        },
      };
    },
  };
}
