/**
 * Query depth, cost and Stripe-call limits, checked on the operation about to run, with its variables
 * (hand-written: no maintained depth/cost library for graphql 16 is installed here, and the check
 * is small). Used by Apollo (a plugin, `didResolveOperation`) and by graphql-ws (`onSubscribe`).
 *
 * - depth: the longest chain of nested field selections (fragments expanded);
 * - cost: every field costs 1, multiplied by the page sizes above it: a field with a `first` or
 *   `last` argument multiplies its subtree by that value (the variable's value or default, else the
 *   argument's schema default; capped at MAX_PAGE_ARG, MAX_PAGE when none is given). A field that calls Stripe also costs
 *   STRIPE_CALL_COST per call it may make;
 * - Stripe calls: fields that are not answered from the mirror declare the most Stripe API calls one
 *   resolution may make (`@Extensions({ [STRIPE_CALLS]: n })`); the operation's total, times the page
 *   sizes above each such field, may not exceed `maxStripeCalls` (aliases count, so 1,000 aliases of a
 *   preview are refused before any of them runs). `stripe-budget.ts` enforces the same bound at run time.
 *
 * The walk is linear in the document: each fragment is measured once per operation (its depth, cost
 * and Stripe calls do not depend on where it is spread, and the variables are fixed for the
 * operation) and the result is reused at every spread, so `{ ...F1 ...F1 }` chains cost no more than
 * their text. Depth is reported before Stripe calls, and those before cost.
 * Introspection (`__schema`, `__type`) is not counted; it is disabled in production anyway.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** A paged field's factor when no page size is given (the largest connection page). */
const MAX_PAGE = 100;
/** The largest page any list field accepts (larger values are refused by the field itself). */
const MAX_PAGE_ARG = 1000;
/** What one Stripe call adds to an operation's cost: far more than a mirror read. */
export const STRIPE_CALL_COST = 100;
/** The field extension naming the most Stripe API calls one resolution of the field makes. */
export const STRIPE_CALLS = 'stripeCalls';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  /** Stripe API calls one request may make (the sum over its Stripe-calling fields). */
  maxStripeCalls: number;
}

export interface OperationMeasure {
  depth: number;
  cost: number;
  /** The most Stripe API calls the operation may make. */
  stripeCalls: number;
}

const ZERO: OperationMeasure = { depth: 0, cost: 0, stripeCalls: 0 };

function stripeCallsOf(field: GraphQLField<unknown, unknown> | undefined): number {
  const n = field?.extensions?.[STRIPE_CALLS];
  return typeof n === 'number' && n > 0 ? n : 0;
}

function fieldOf(parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  return parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
}

/**
 * Measures of operations that read no variable (none of their page sizes is one), per schema and
 * parsed operation: Apollo reuses the parsed document of a repeated query, so those are measured once.
 */
const constantMeasures = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, OperationMeasure>>();

/** Depth, estimated cost and Stripe calls of one operation of a (valid) document. */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): OperationMeasure {
  let known = constantMeasures.get(schema);
  const cached = known?.get(operation);
  if (cached) return cached;
  let readsVariables = false;
  const measured = measureOnce(schema, document, operation, variables, () => (readsVariables = true));
  if (!readsVariables) {
    if (!known) constantMeasures.set(schema, (known = new WeakMap()));
    known.set(operation, measured);
  }
  return measured;
}

function measureOnce(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  onVariable: () => void,
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const varDefaults = new Map<string, unknown>();
  for (const v of operation.variableDefinitions ?? []) if (v.defaultValue) varDefaults.set(v.variable.name.value, valueFromASTUntyped(v.defaultValue));
  /** Each fragment's measure, once per operation; `null` while it is being measured (a cycle: validation reports it). */
  const measured = new Map<string, OperationMeasure | null>();

  /** The most items one page argument (`first` or `last`) lets the field return. */
  function pageArg(node: FieldNode, field: GraphQLField<unknown, unknown> | undefined, name: 'first' | 'last'): number | undefined {
    const arg = node.arguments?.find((a) => a.name.value === name);
    const declared: GraphQLArgument | undefined = field?.args.find((a) => a.name === name);
    if (!arg && !declared) return undefined;
    let value: unknown = declared?.defaultValue;
    if (arg) {
      if (arg.value.kind === Kind.VARIABLE) {
        onVariable();
        const name = arg.value.name.value;
        value = name in variables ? variables[name] : varDefaults.has(name) ? varDefaults.get(name) : value;
      } else {
        value = valueFromASTUntyped(arg.value);
      }
    }
    if (value === null || value === undefined) return undefined;
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, Math.min(Math.trunc(value), MAX_PAGE_ARG)) : MAX_PAGE;
  }

  /** What a list field multiplies its subtree by: the page it can return (`first` or `last`), else MAX_PAGE when it pages at all. */
  function pageFactor(node: FieldNode, field: GraphQLField<unknown, unknown> | undefined): number {
    const pages = field?.args.some((a) => a.name === 'first' || a.name === 'last') || node.arguments?.some((a) => a.name.value === 'first' || a.name.value === 'last');
    if (!pages) return 1;
    const first = pageArg(node, field, 'first');
    const last = pageArg(node, field, 'last');
    if (first === undefined && last === undefined) return MAX_PAGE;
    return Math.max(first ?? 0, last ?? 0);
  }

  function fragment(name: string): OperationMeasure {
    const known = measured.get(name);
    if (known) return known;
    const frag = fragments.get(name);
    if (!frag || known === null) return ZERO; // unknown or cyclic: validation reports it
    measured.set(name, null);
    const m = measure(frag.selectionSet, schema.getType(frag.typeCondition.name.value));
    measured.set(name, m);
    return m;
  }

  /** The selection set's measure relative to itself (depth 0 = the set's own level). */
  function measure(set: SelectionSetNode, parent: GraphQLNamedType | undefined): OperationMeasure {
    let depth = 0;
    let cost = 0;
    let stripeCalls = 0;
    for (const sel of set.selections) {
      let sub: OperationMeasure;
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value === '__schema' || sel.name.value === '__type') continue;
        const field = fieldOf(parent, sel.name.value);
        const inner = sel.selectionSet ? measure(sel.selectionSet, field ? getNamedType(field.type) : undefined) : ZERO;
        const factor = pageFactor(sel, field);
        const own = stripeCallsOf(field);
        sub = { depth: inner.depth + 1, cost: 0, stripeCalls: 0 };
        cost += 1 + own * STRIPE_CALL_COST + factor * inner.cost;
        stripeCalls += own + factor * inner.stripeCalls;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        sub = measure(sel.selectionSet, sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent);
        cost += sub.cost;
        stripeCalls += sub.stripeCalls;
      } else {
        sub = fragment(sel.name.value);
        cost += sub.cost;
        stripeCalls += sub.stripeCalls;
      }
      depth = Math.max(depth, sub.depth);
    }
    return { depth, cost, stripeCalls };
  }

  const root = operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return measure(operation.selectionSet, root ?? undefined);
}

/**
 * The error for an operation over the limits, or null. Status 400 over HTTP. The cheapest
 * verdict first: depth, then Stripe calls, then cost (one linear walk computes all three).
 */
export function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  const { depth, cost, stripeCalls } = measureOperation(schema, document, operation, variables);
  const op = operation.name ? ` "${operation.name.value}"` : '';
  const ext = { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } };
  if (depth > limits.maxDepth)
    return [new GraphQLError(`Query${op} is too deep: depth ${depth} exceeds the maximum of ${limits.maxDepth}`, { extensions: { ...ext, limit: 'depth', depth, maxDepth: limits.maxDepth } })];
  if (stripeCalls > limits.maxStripeCalls)
    return [
      new GraphQLError(
        `Query${op} makes too many Stripe calls: up to ${stripeCalls} exceeds the maximum of ${limits.maxStripeCalls} per request (send fewer previews, sessions or billing mutations at once)`,
        { extensions: { ...ext, limit: 'stripeCalls', stripeCalls, maxStripeCalls: limits.maxStripeCalls } },
      ),
    ];
  if (cost > limits.maxCost)
    return [
      new GraphQLError(`Query${op} is too expensive: estimated cost ${cost} exceeds the maximum of ${limits.maxCost} (lower \`first\` or select fewer fields)`, {
        extensions: { ...ext, limit: 'cost', cost, maxCost: limits.maxCost },
      }),
    ];
  return [];
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

/**
 * Apollo plugin: a subscription operation sent over HTTP is refused with 400 before anything runs
 * (subscriptions are served over graphql-ws on the same path); executed over HTTP, its resolver
 * would run without the event stream it needs.
 */
export function httpOperationsPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError('Subscription operations are served over WebSocket (graphql-ws, the graphql-transport-ws protocol) at this path, not over HTTP', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        },
      };
    },
  };
}
