import { invalidRequest } from './errors.js';

/**
 * Stripe's search query language (docs: "Search query language"), parsed by hand: the grammar is a
 * flat list of clauses joined by one kind of connective, too small to bring in a parser generator.
 *
 *   query   := clause ( ( ' AND ' | ' OR ' ) clause )*      (one kind of connective per query, ≤ 10 clauses)
 *   clause  := [ '-' ] field op value
 *   field   := name | 'metadata[' quoted ']'
 *   op      := ':' (exact, case-insensitive) | '~' (substring, ≥ 3 characters) | '>' | '>=' | '<' | '<='
 *   value   := "…" | '…' (with \" or \' escapes) | bare token (numbers, null)
 */
export type Op = ':' | '~' | '>' | '>=' | '<' | '<=';

export interface Clause {
  negated: boolean;
  field: string;
  /** The metadata key when `field` is `metadata`. */
  key?: string;
  op: Op;
  value: string;
  /** `null` unquoted: the field is unset. */
  isNull: boolean;
}

export interface Query {
  clauses: Clause[];
  connective: 'AND' | 'OR';
}

export type FieldKind = 'string' | 'substring' | 'number' | 'boolean';

/** The fields one resource can be searched by, and how each compares. `metadata` is always allowed. */
export interface SearchSchema {
  resource: string;
  fields: Record<string, { kind: FieldKind; get: (obj: any) => unknown }>;
}

const MAX_CLAUSES = 10;

function bad(message: string): never {
  throw invalidRequest(message, 'query', 'parameter_invalid');
}

/** Parses `query` or throws a 400 naming the problem (as Stripe does, with `param: query`). */
export function parseQuery(query: string): Query {
  const src = query.trim();
  if (src === '') bad('Invalid query: the query is empty.');
  let i = 0;
  const clauses: Clause[] = [];
  let connective: 'AND' | 'OR' | undefined;

  const skipSpaces = () => {
    while (i < src.length && src[i] === ' ') i++;
  };
  const quoted = (): string => {
    const q = src[i]!;
    i++;
    let out = '';
    while (i < src.length && src[i] !== q) {
      if (src[i] === '\\' && i + 1 < src.length) i++;
      out += src[i];
      i++;
    }
    if (i >= src.length) bad(`Invalid query: unterminated string starting at character ${query.indexOf(q) + 1}.`);
    i++;
    return out;
  };

  for (;;) {
    skipSpaces();
    const negated = src[i] === '-';
    if (negated) i++;
    const nameMatch = /^[a-z_][a-z0-9_.]*/.exec(src.slice(i));
    if (!nameMatch) bad(`Invalid query: expected a field name at character ${i + 1}.`);
    const field = nameMatch[0];
    i += field.length;
    let key: string | undefined;
    if (field === 'metadata') {
      if (src[i] !== '[' || (src[i + 1] !== '"' && src[i + 1] !== "'")) bad('Invalid query: metadata must be followed by ["key"].');
      i++;
      key = quoted();
      if (src[i] !== ']') bad('Invalid query: metadata["key"] is missing its closing bracket.');
      i++;
    }
    const opMatch = /^(>=|<=|:|~|>|<)/.exec(src.slice(i));
    if (!opMatch) bad(`Invalid query: expected one of : ~ > >= < <= after ${field} at character ${i + 1}.`);
    const op = opMatch[0] as Op;
    i += op.length;
    let value: string;
    let isNull = false;
    if (src[i] === '"' || src[i] === "'") {
      value = quoted();
    } else {
      const bare = /^[^\s"']+/.exec(src.slice(i));
      if (!bare) bad(`Invalid query: expected a value after ${field}${op} at character ${i + 1}.`);
      value = bare[0];
      i += value.length;
      isNull = value === 'null';
    }
    if (negated && op !== ':') bad('Invalid query: negation (-) applies to exact matches (field:value) only.');
    clauses.push({ negated, field, ...(key !== undefined ? { key } : {}), op, value, isNull });
    if (clauses.length > MAX_CLAUSES) bad(`Invalid query: a query can have at most ${MAX_CLAUSES} clauses.`);
    skipSpaces();
    if (i >= src.length) break;
    const conn = /^(AND|OR)\s+/.exec(src.slice(i));
    if (!conn) bad(`Invalid query: expected AND or OR at character ${i + 1}.`);
    const word = conn[1] as 'AND' | 'OR';
    if (connective && connective !== word) bad('Invalid query: AND and OR cannot be combined in one query.');
    connective = word;
    i += conn[0].length;
  }
  return { clauses, connective: connective ?? 'AND' };
}

/** Checks each clause against the resource's fields and returns the matcher. */
export function compileQuery(query: Query, schema: SearchSchema): (obj: unknown) => boolean {
  const tests = query.clauses.map((c) => clauseTest(c, schema));
  return query.connective === 'AND' ? (o) => tests.every((t) => t(o)) : (o) => tests.some((t) => t(o));
}

function clauseTest(c: Clause, schema: SearchSchema): (obj: unknown) => boolean {
  if (c.field === 'metadata') {
    if (c.op !== ':') bad('Invalid query: metadata supports exact matches (metadata["key"]:"value") only.');
    const key = c.key!;
    const test = (o: any) => {
      const v = (o?.metadata as Record<string, string> | undefined)?.[key];
      return c.isNull ? v === undefined : v !== undefined && v === c.value;
    };
    return c.negated ? (o) => !test(o) : test;
  }
  const field = schema.fields[c.field];
  if (!field) {
    bad(
      `Field \`${c.field}\` is an unsupported search field for resource \`${schema.resource}\`. See http://stripe.com/docs/search#query-fields-for-${schema.resource} for a list of supported fields.`,
    );
  }
  let test: (o: unknown) => boolean;
  if (c.op === '~') {
    if (field.kind !== 'substring') bad(`Invalid query: \`${c.field}\` does not support substring matching (~).`);
    if (c.value.length < 3) bad('Invalid query: a substring match (~) needs at least 3 characters.');
    const needle = c.value.toLowerCase();
    test = (o) => {
      const v = field.get(o);
      return typeof v === 'string' && v.toLowerCase().includes(needle);
    };
  } else if (c.op === ':') {
    if (c.isNull) {
      test = (o) => field.get(o) === null || field.get(o) === undefined;
    } else if (field.kind === 'number') {
      const n = numberOf(c);
      test = (o) => field.get(o) === n;
    } else if (field.kind === 'boolean') {
      if (c.value !== 'true' && c.value !== 'false') bad(`Invalid query: \`${c.field}\` takes true or false.`);
      test = (o) => field.get(o) === (c.value === 'true');
    } else {
      const want = c.value.toLowerCase();
      test = (o) => {
        const v = field.get(o);
        return typeof v === 'string' && v.toLowerCase() === want;
      };
    }
  } else {
    if (field.kind !== 'number') bad(`Invalid query: \`${c.field}\` does not support numeric comparison (${c.op}).`);
    const n = numberOf(c);
    const cmp = { '>': (a: number) => a > n, '>=': (a: number) => a >= n, '<': (a: number) => a < n, '<=': (a: number) => a <= n }[c.op];
    test = (o) => {
      const v = field.get(o);
      return typeof v === 'number' && cmp(v);
    };
  }
  return c.negated ? (o) => !test(o) : test;
}

function numberOf(c: Clause): number {
  if (!/^-?\d+(\.\d+)?$/.test(c.value)) bad(`Invalid query: \`${c.field}\` takes a number, got ${JSON.stringify(c.value)}.`);
  return Number(c.value);
}

/** `next_page` cursors: the offset into the (newest first) result list, opaque to clients. */
export function encodePage(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset }), 'utf8').toString('base64url');
}

export function decodePage(page: string): number {
  try {
    const { o } = JSON.parse(Buffer.from(page, 'base64url').toString('utf8')) as { o: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // fall through
  }
  throw invalidRequest(`Invalid page: ${page}`, 'page', 'parameter_invalid');
}
