/**
 * Query depth and cost limits as GraphQL validation rules (hand-written: no maintained library for
 * graphql 16 is installed here, and the rule is ~80 lines).
 *
 * - depth: the longest chain of nested field selections (fragments expanded);
 * - cost: every field costs 1, multiplied by the page sizes above it: a field with a `first`
 *   argument multiplies its subtree by that value (its default when omitted, MAX_PAGE for a
 *   variable, since validation runs before variables are known).
 * Introspection (`__schema`, `__type`) is not counted; it is disabled in production anyway.
 */
import {
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  type GraphQLSchema,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

const MAX_PAGE = 100;

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

function firstArgument(field: FieldNode, defaultFirst: number | undefined): number {
  const arg = field.arguments?.find((a) => a.name.value === 'first');
  if (!arg) return defaultFirst ?? 1;
  if (arg.value.kind === Kind.INT) return Math.max(1, Math.min(Number(arg.value.value), MAX_PAGE));
  if (arg.value.kind === Kind.VARIABLE) return MAX_PAGE;
  return defaultFirst ?? 1;
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

export function queryLimitRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);

    const defaultFirstByField = firstDefaults(context.getSchema());

    function measure(set: SelectionSetNode, depth: number, seen: Set<string>): { depth: number; cost: number } {
      let maxDepth = depth;
      let cost = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          const name = sel.name.value;
          if (name === '__schema' || name === '__type') continue;
          let sub = { depth: depth + 1, cost: 0 };
          if (sel.selectionSet) sub = measure(sel.selectionSet, depth + 1, seen);
          const factor = sel.arguments?.some((a) => a.name.value === 'first') || defaultFirstByField.has(name) ? firstArgument(sel, defaultFirstByField.get(name)) : 1;
          cost += 1 + factor * sub.cost;
          maxDepth = Math.max(maxDepth, sub.depth);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const sub = measure(sel.selectionSet, depth, seen);
          cost += sub.cost;
          maxDepth = Math.max(maxDepth, sub.depth);
        } else {
          const name = sel.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // unknown or cyclic: other rules report it
          const sub = measure(frag.selectionSet, depth, new Set(seen).add(name));
          cost += sub.cost;
          maxDepth = Math.max(maxDepth, sub.depth);
        }
      }
      return { depth: maxDepth, cost };
    }

    return {
      OperationDefinition(node) {
        const { depth, cost } = measure(node.selectionSet, 0, new Set());
        const op = node.name ? ` "${node.name.value}"` : '';
        if (depth > limits.maxDepth)
          context.reportError(new GraphQLError(`Query${op} is too deep: depth ${depth} exceeds the maximum of ${limits.maxDepth}`, { nodes: [node], extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'depth', depth, maxDepth: limits.maxDepth } }));
        if (cost > limits.maxCost)
          context.reportError(new GraphQLError(`Query${op} is too expensive: estimated cost ${cost} exceeds the maximum of ${limits.maxCost} (lower \`first\` or select fewer fields)`, { nodes: [node], extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', cost, maxCost: limits.maxCost } }));
      },
    };
  };
}
