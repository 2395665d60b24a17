/**
 * Parsed and validated GraphQL documents by query text: a thousand dashboards sending the same
 * subscription are parsed and validated once. Bounded (least recently used goes first), so arbitrary
 * client queries cannot grow it without limit. No I/O.
 */
import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';

export type CachedDocument = { document: DocumentNode; errors?: undefined } | { document?: undefined; errors: readonly GraphQLError[] };

export interface DocumentCache {
  get(query: string): CachedDocument;
  readonly size: number;
}

export interface DocumentCacheOptions {
  maxEntries?: number;
  /** The parser stops past this many tokens (as Apollo's `parseOptions.maxTokens` over HTTP). */
  maxTokens?: number;
  /** Drop "Did you mean …?" from validation messages (production: they would map the schema). */
  hideSuggestions?: boolean;
}

export function createDocumentCache(schema: GraphQLSchema, rules: readonly ValidationRule[], opts: DocumentCacheOptions = {}): DocumentCache {
  const { maxEntries = 500, maxTokens, hideSuggestions = false } = opts;
  const entries = new Map<string, CachedDocument>();
  const load = (query: string): CachedDocument => {
    let document: DocumentNode;
    try {
      document = parse(query, maxTokens ? { maxTokens } : undefined);
    } catch (err) {
      return { errors: [err instanceof GraphQLError ? new GraphQLError(err.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } }) : new GraphQLError('Invalid query')] };
    }
    const errors = validate(schema, document, rules);
    if (errors.length) {
      // The same pattern Apollo's hideSchemaDetailsFromClientErrors removes over HTTP.
      const message = (e: GraphQLError) => (hideSuggestions ? e.message.replace(/ ?Did you mean(.+?)\?$/, '') : e.message);
      return { errors: errors.map((e) => new GraphQLError(message(e), { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...e.extensions } })) };
    }
    return { document };
  };
  return {
    get(query) {
      let hit = entries.get(query);
      if (hit) {
        // Move to the end: most recently used.
        entries.delete(query);
        entries.set(query, hit);
        return hit;
      }
      hit = load(query);
      entries.set(query, hit);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      return hit;
    },
    get size() {
      return entries.size;
    },
  };
}
