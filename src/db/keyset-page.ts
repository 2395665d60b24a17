/**
 * Relay-style pages (`first`/`after`, `last`/`before`) over one table by keyset on an indexed
 * `(sort, id)` order: a cursor names a row's position, so inserts and deletes elsewhere never shift
 * a page, and any page costs one index range scan however deep it is.
 *
 * Hand-written: graphql-relay's helpers page arrays by offset (the whole list in memory, cursors
 * that shift), and no maintained keyset library for raw SQL over MikroORM is installed here.
 *
 * Cursors are opaque base64url. A timestamp sort key is carried in microseconds (PostgreSQL's
 * precision: rows written with `now()` within one millisecond stay ordered); `legacyCursor` lists
 * keep the `<ms>:<id>` cursors their forward pages already hand out (their times are Stripe's whole
 * seconds, so milliseconds are exact), and every list decodes both.
 */
import { badUserInput } from '../errors.js';
import { queryPrepared, type PlainReader } from './plain-rows.js';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface PageInfoValue {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface KeysetPage<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfoValue;
  /** Rows the filter matches, across every page (one `count(*)`, run only when asked). */
  totalCount: () => Promise<number>;
}

export interface KeysetList<T> {
  /** The table (or a parenthesised subquery with an alias). */
  from: string;
  /** The filter, with `$1…$n` for `params`; empty for none. */
  where?: string;
  params?: readonly unknown[];
  /** The select list (the sort key and id are added). */
  select: string;
  /** The sort column, a timestamp or an integer; `id` breaks ties. */
  sort: string;
  sortKind: 'timestamp' | 'integer';
  /** The list's own order (`desc`: newest first). */
  direction: 'asc' | 'desc';
  /** Rows as read → nodes (same order). */
  map: (rows: Record<string, unknown>[]) => T[];
  /** Page size when neither first nor last is given, and the largest allowed. */
  defaultSize?: number;
  maxSize?: number;
  /** Hand out `<ms>:<id>` cursors (lists whose forward pages already did). */
  legacyCursor?: boolean;
}

interface Position {
  /** Microseconds since the epoch (timestamps) or the integer itself. */
  key: bigint;
  id: string;
}

const SORT_KEY = 'keyset_sort_key';

export function encodeKeysetCursor(pos: Position, kind: 'timestamp' | 'integer', legacy = false): string {
  const text = legacy && kind === 'timestamp' ? `${pos.key / 1000n}:${pos.id}` : `${kind === 'timestamp' ? 't' : 'n'}${pos.key}:${pos.id}`;
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** A client's cursor; BAD_USER_INPUT naming `field` when it is not one of this list's. */
export function decodeKeysetCursor(cursor: string, kind: 'timestamp' | 'integer', field: string): Position {
  const text = /^[A-Za-z0-9_-]{1,600}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const legacy = /^(\d{1,15}):([\x21-\x7e]{1,255})$/.exec(text);
  if (legacy && kind === 'timestamp') return { key: BigInt(legacy[1]!) * 1000n, id: legacy[2]! };
  const m = /^([tn])(-?\d{1,19}):([\x21-\x7e]{1,255})$/.exec(text);
  if (!m || m[1] !== (kind === 'timestamp' ? 't' : 'n')) throw badUserInput(field, `${field}: not a valid cursor for this list`);
  return { key: BigInt(m[2]!), id: m[3]! };
}

function size(value: number | null | undefined, field: string, max: number): number {
  if (!Number.isInteger(value) || value! < 1 || value! > max) throw badUserInput(field, `${field}: expected an integer 1-${max}, got ${value}`);
  return value!;
}

/** Checks the page arguments as `keysetPage` would (BAD_USER_INPUT naming the field), for an answer known to be empty. */
export function validatePageArgs(args: PageArgs, kind: 'timestamp' | 'integer', maxSize = 100): void {
  // `last` wins over `first`: connections whose `first` has a schema default get it with every `last`.
  if (args.last != null) size(args.last, 'last', maxSize);
  else if (args.first != null) size(args.first, 'first', maxSize);
  if (args.after) decodeKeysetCursor(args.after, kind, 'after');
  if (args.before) decodeKeysetCursor(args.before, kind, 'before');
}

export function emptyPage<T>(): KeysetPage<T> {
  return { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }, totalCount: async () => 0 };
}

/** One page of `list`: `first` rows after `after` (default), or, when `last` is given, the `last` rows before `before`. */
export async function keysetPage<T>(em: PlainReader, list: KeysetList<T>, args: PageArgs): Promise<KeysetPage<T>> {
  const max = list.maxSize ?? 100;
  validatePageArgs(args, list.sortKind, max);
  const backward = args.last != null;
  const n = backward ? args.last! : (args.first ?? list.defaultSize ?? 20);
  const after = args.after ? decodeKeysetCursor(args.after, list.sortKind, 'after') : null;
  const before = args.before ? decodeKeysetCursor(args.before, list.sortKind, 'before') : null;

  const params: unknown[] = [...(list.params ?? [])];
  const bind = (v: unknown) => (params.push(v), `$${params.length}`);
  const at = (pos: Position) =>
    list.sortKind === 'timestamp'
      ? `(timestamptz 'epoch' + ${bind(pos.key.toString())}::bigint * interval '1 microsecond', ${bind(pos.id)}::text)`
      : `(${bind(pos.key.toString())}::bigint, ${bind(pos.id)}::text)`;
  const row = `(${list.sort}, id)`;
  // "Later in the list" is a smaller key in a newest-first list.
  const later = list.direction === 'desc' ? '<' : '>';
  const earlier = list.direction === 'desc' ? '>' : '<';
  const base = list.where ? [`(${list.where})`] : [];
  const conds = [...base];
  if (after) conds.push(`${row} ${later} ${at(after)}`);
  if (before) conds.push(`${row} ${earlier} ${at(before)}`);
  const order = (backward ? list.direction === 'desc' : list.direction === 'asc') ? 'asc' : 'desc';
  const keyExpr = list.sortKind === 'timestamp' ? `(extract(epoch from ${list.sort}) * 1000000)::bigint::text` : `${list.sort}::text`;
  const rows = await queryPrepared(
    em,
    `select ${list.select}, ${keyExpr} as ${SORT_KEY} from ${list.from}${conds.length ? ` where ${conds.join(' and ')}` : ''} order by ${list.sort} ${order}, id ${order} limit ${bind(n + 1)}`,
    params,
  );
  const more = rows.length > n;
  const pageRows = rows.slice(0, n);
  if (backward) pageRows.reverse();

  const baseParams = (list.params ?? []).length;
  /** Whether a row of the filter lies at or beyond `pos`, on the side `op` says. */
  const exists = async (pos: Position, op: '<=' | '>='): Promise<boolean> => {
    params.length = baseParams;
    const found = await queryPrepared<{ found: boolean }>(
      em,
      `select exists(select 1 from ${list.from} where ${[...base, `${row} ${op} ${at(pos)}`].join(' and ')}) as found`,
      params,
    );
    return found[0]?.found === true;
  };
  const atOrLater = list.direction === 'desc' ? '<=' : '>=';
  const atOrEarlier = list.direction === 'desc' ? '>=' : '<=';
  const hasNextPage = backward ? (before ? await exists(before, atOrLater) : false) : more || (before ? await exists(before, atOrLater) : false);
  const hasPreviousPage = backward ? more || (after ? await exists(after, atOrEarlier) : false) : after ? await exists(after, atOrEarlier) : false;

  const nodes = list.map(pageRows);
  const edges = pageRows.map((r, i) => ({
    cursor: encodeKeysetCursor({ key: BigInt(r[SORT_KEY] as string), id: String(r.id) }, list.sortKind, list.legacyCursor),
    node: nodes[i]!,
  }));
  const countParams = (list.params ?? []).slice();
  return {
    edges,
    pageInfo: { hasNextPage, hasPreviousPage, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: async () => {
      const [c] = await queryPrepared<{ n: string | number }>(em, `select count(*) as n from ${list.from}${base.length ? ` where ${base.join(' and ')}` : ''}`, countParams);
      return Number(c?.n ?? 0);
    },
  };
}

/**
 * The same page over items already in memory, keyed by their index (e.g. the lines of an invoice
 * preview, which is never stored); cursors are those of an integer-sorted list.
 */
export function arrayPage<T>(items: readonly T[], idOf: (item: T, index: number) => string, args: PageArgs, maxSize = 100): KeysetPage<T> {
  validatePageArgs(args, 'integer', maxSize);
  const after = args.after ? decodeKeysetCursor(args.after, 'integer', 'after') : null;
  const before = args.before ? decodeKeysetCursor(args.before, 'integer', 'before') : null;
  const from = after ? Number(after.key) + 1 : 0;
  const to = before ? Math.min(Number(before.key), items.length) : items.length;
  const range = items.map((node, i) => ({ node, i })).slice(Math.max(0, from), Math.max(0, to));
  const backward = args.last != null;
  const n = backward ? args.last! : (args.first ?? 20);
  const page = backward ? range.slice(Math.max(0, range.length - n)) : range.slice(0, n);
  const edges = page.map(({ node, i }) => ({ cursor: encodeKeysetCursor({ key: BigInt(i), id: idOf(node, i) }, 'integer'), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: backward ? to < items.length : range.length > n || to < items.length,
      hasPreviousPage: backward ? range.length > n || from > 0 : from > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: async () => items.length,
  };
}
