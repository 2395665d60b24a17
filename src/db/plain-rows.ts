/**
 * Read-only entity-shaped rows straight from SQL, for the request-scoped read loaders (GraphQL).
 *
 * `em.find` builds a query, hydrates an entity per row, registers it in the identity map and takes a
 * change-tracking snapshot (JSON columns cloned): ~0.3 ms per statement plus ~15 µs per row, which
 * was most of the gateway's CPU on a customer read (bench `read`). These rows skip all of it: plain
 * objects with the entity's property names, dates parsed as the ORM would. They are not managed:
 * never persist, modify or flush them (write paths load their own entities).
 */
import { createHash } from 'node:crypto';
import type { EntityClass, EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type pg from 'pg';

interface Column {
  prop: string;
  column: string;
  date: boolean;
  /** numeric/bigint: the driver hands them over as strings, JSON would make numbers of them. */
  exactNumber: boolean;
}

/** The entity's columns (all, or all but `omit`) and their row mapper, by entity and omit list. */
interface Shape {
  columns: Column[];
  map: (row: Record<string, unknown>, parseDate: (value: string) => unknown, fixed?: Record<string, unknown>) => Record<string, unknown>;
  /** The same from a tuple (`jsonTuple`'s array, columns in order), by the fixed properties it adds; compiled on first use. */
  mapTuple?: Map<string, (row: readonly unknown[], parseDate: (value: string) => unknown, fixed?: Record<string, unknown>) => Record<string, unknown>>;
}

/**
 * What plain-row reads need of an EntityManager: SQL, metadata and the platform's date parsing.
 * Nothing here touches an identity map, so one long-lived fork can serve every request's loaders
 * (see src/graphql/context.ts); the narrow type keeps `em.find` out of them.
 */
export type PlainReader = Pick<SqlEntityManager, 'execute' | 'getMetadata' | 'getPlatform' | 'getConnection' | 'getTransactionContext'>;

const shapesByEntity = new WeakMap<object, Map<string, Shape>>();

/**
 * One object literal per row, compiled once per shape: a generic loop of keyed reads and writes over
 * ~20 columns was the largest share of the gateway's own code in a customer read (bench `read`);
 * constant property names keep V8's property caches monomorphic. Names come from the ORM's metadata
 * and are quoted with JSON.stringify.
 */
function compileMapper(columns: readonly Column[], byPosition = false, fixed: readonly string[] = []): Shape['map'] {
  const fields = columns.map((c, i) => {
    const read = byPosition ? `row[${i}]` : `row[${JSON.stringify(c.column)}]`;
    // Drivers hand timestamps over as strings (MikroORM's type parsers); the entity holds Dates.
    const value = c.date ? `date(${read}, parseDate)` : read;
    return `${JSON.stringify(c.prop)}: ${value}`;
  });
  // Properties every row of a read shares (e.g. the parent's id), given by the caller, not selected.
  for (const prop of fixed) fields.push(`${JSON.stringify(prop)}: fixed[${JSON.stringify(prop)}]`);
  const body = `return { ${fields.join(', ')} };`;
  const date = (v: unknown, parseDate: (value: string) => unknown) => (v !== null && v !== undefined && !(v instanceof Date) ? parseDate(v as string) : v);
  const make = new Function('date', `return function mapRow(row, parseDate, fixed) { ${body} };`) as (d: typeof date) => Shape['map'];
  return make(date);
}

/**
 * The columns of `entity` a read selects: all but `omit`, or (`only`) just those properties, in the
 * entity's order. Compiled once per entity and choice.
 */
export interface ColumnChoice {
  omit?: readonly string[];
  only?: readonly string[];
}

/** Which columns: all but these properties, or `{ only }` these. */
export type Columns<T> = readonly (keyof T & string)[] | { only: readonly (keyof T & string)[] };

/** Shapes by entity and the caller's own column list or choice object (most pass constants): no key to build. */
const shapesByChoice = new WeakMap<object, WeakMap<object, Shape>>();

function shapeOf(em: Pick<EntityManager, 'getMetadata'>, entity: EntityClass<object>, omit: readonly string[] | ColumnChoice = []): Shape {
  let byChoice = shapesByChoice.get(entity);
  if (!byChoice) shapesByChoice.set(entity, (byChoice = new WeakMap()));
  let shape = byChoice.get(omit);
  if (!shape) byChoice.set(omit, (shape = keyedShape(em, entity, omit)));
  return shape;
}

function keyedShape(em: Pick<EntityManager, 'getMetadata'>, entity: EntityClass<object>, omit: readonly string[] | ColumnChoice): Shape {
  const choice: ColumnChoice = Array.isArray(omit) ? { omit: omit as readonly string[] } : (omit as ColumnChoice);
  let byChoice = shapesByEntity.get(entity);
  if (!byChoice) shapesByEntity.set(entity, (byChoice = new Map()));
  const key = choice.only ? `only:${choice.only.join(',')}` : (choice.omit ?? []).join(',');
  let shape = byChoice.get(key);
  if (!shape) {
    const meta = em.getMetadata().get(entity);
    const keep = choice.only ? (name: string) => choice.only!.includes(name) : (name: string) => !(choice.omit ?? []).includes(name);
    const columns = meta.props
      .filter((p) => p.persist !== false && p.fieldNames?.length === 1 && keep(p.name))
      .map((p) => ({
        prop: p.name,
        column: p.fieldNames[0]!,
        date: p.runtimeType === 'Date',
        exactNumber: /^(numeric|decimal|bigint|int8)\b/i.test(p.columnTypes?.[0] ?? ''),
      }));
    shape = { columns, map: compileMapper(columns) };
    byChoice.set(key, shape);
  }
  return shape;
}

/**
 * The select list for plain rows without the `omit` properties (e.g. `raw`, the stored Stripe
 * object: the widest column, which reads answered from columns never use): `a.id, a.customer_id, …`.
 */
export function selectColumns<T extends object>(em: Pick<EntityManager, 'getMetadata'>, entity: EntityClass<T>, omit: readonly (keyof T & string)[], alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return shapeOf(em, entity, omit)
    .columns.map((c) => prefix + c.column)
    .join(', ');
}

/**
 * `selectColumns` for rows that travel inside `json_agg`: numeric and bigint columns as text, so
 * they map to the same values as the driver's rows (`toPlainRows` on the parsed JSON objects).
 */
export function selectJsonColumns<T extends object>(em: Pick<EntityManager, 'getMetadata'>, entity: EntityClass<T>, omit: Columns<T>, alias: string): string {
  return shapeOf(em, entity, omit)
    .columns.map((c) => (c.exactNumber ? `${alias}.${c.column}::text as ${c.column}` : `${alias}.${c.column}`))
    .join(', ');
}

/**
 * `json_build_array(a.col, …)` of the columns `selectJsonColumns` selected as `alias`: rows inside
 * `json_agg` as tuples, not objects, so the column names are not repeated in every row's text (they
 * were most of a customer read's bytes and of PostgreSQL's JSON work). Map them with `tuplesToPlainRows`.
 */
export function jsonTuple<T extends object>(em: Pick<EntityManager, 'getMetadata'>, entity: EntityClass<T>, omit: Columns<T>, alias: string, extra: readonly string[] = []): string {
  // numeric/bigint as text, as `selectJsonColumns` selects them (a no-op on its columns).
  return `json_build_array(${[...shapeOf(em, entity, omit).columns.map((c) => `${alias}.${c.column}${c.exactNumber ? '::text' : ''}`), ...extra].join(', ')})`;
}

/**
 * Maps `jsonTuple` arrays to plain rows (extra trailing values are ignored: read them by position).
 * With `{ only }`, the rows have just those properties (the others are undefined, whatever `T` says):
 * only for readers that were told which properties they may read.
 */
export function tuplesToPlainRows<T extends object, K extends keyof T & string = never>(
  em: Pick<EntityManager, 'getMetadata' | 'getPlatform'>,
  entity: EntityClass<T>,
  tuples: readonly (readonly unknown[])[],
  omit: readonly K[] | { only: readonly (keyof T & string)[] } = [],
  /** Properties every row gets as given here rather than from a column (e.g. the parent's id of a nested read). */
  fixed?: Partial<T>,
): Omit<T, K>[] {
  const shape = shapeOf(em, entity, omit);
  const fixedProps = fixed ? Object.keys(fixed) : [];
  const mapKey = fixedProps.join(',');
  const mappers = (shape.mapTuple ??= new Map());
  let map = mappers.get(mapKey);
  if (!map) mappers.set(mapKey, (map = compileMapper(shape.columns, true, fixedProps) as unknown as NonNullable<ReturnType<typeof mappers.get>>));
  const platform = em.getPlatform();
  const parseDate = (value: string) => platform.parseDate(value);
  const out = new Array<Omit<T, K>>(tuples.length);
  for (let i = 0; i < tuples.length; i++) out[i] = map(tuples[i]!, parseDate, fixed as Record<string, unknown> | undefined) as Omit<T, K>;
  return out;
}

/** How many columns `jsonTuple` puts before its extras. */
export const tupleWidth = <T extends object>(em: Pick<EntityManager, 'getMetadata'>, entity: EntityClass<T>, omit: Columns<T>): number =>
  shapeOf(em, entity, omit).columns.length;

/**
 * Maps SQL rows (`select *` of the entity's table, or `selectColumns` with the same `omit`; extra
 * columns are ignored) to plain read-only rows.
 */
export function toPlainRows<T extends object, K extends keyof T & string = never>(
  em: Pick<EntityManager, 'getMetadata' | 'getPlatform'>,
  entity: EntityClass<T>,
  rows: readonly Record<string, unknown>[],
  omit: readonly K[] = [],
): Omit<T, K>[] {
  const { map } = shapeOf(em, entity, omit);
  const platform = em.getPlatform();
  const parseDate = (value: string) => platform.parseDate(value);
  const out = new Array<Omit<T, K>>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = map(rows[i]!, parseDate) as Omit<T, K>;
  return out;
}

/** A reader that runs its query with `run` and maps the rows with `toPlainRows` (pass the `omit` its select list used). */
const rowReader =
  (run: (em: PlainReader, sql: string, params: readonly unknown[]) => Promise<Record<string, unknown>[]>) =>
  async <T extends object, K extends keyof T & string = never>(
    em: PlainReader,
    entity: EntityClass<T>,
    sql: string,
    params: readonly unknown[],
    omit: readonly K[] = [],
  ): Promise<Omit<T, K>[]> =>
    toPlainRows(em, entity, await run(em, sql, params), omit);

/** Runs `sql` (`?` placeholders) and maps its rows with `toPlainRows`. */
export const readPlainRows = rowReader((em, sql, params) => em.execute<Record<string, unknown>[]>(sql, [...params]));

/** `?, ?, ?` for `n` values. */
export const placeholders = (n: number): string => (n > 0 ? '?, '.repeat(n - 1) + '?' : '');

/**
 * `text` with `$n` parameters as a named prepared statement of the `pg` pool under the ORM: parsed
 * and planned once per connection, then only bound and executed (MikroORM's `execute` inlines the
 * values, so every call was a new statement to parse and plan). Array parameters (`$1::text[]`) keep
 * one text for any number of keys. The statement is reported to the ORM's logger like its own (the
 * statement counter of tests sees it). Inside a transaction, or on PGlite, it runs through
 * `em.execute` with the values inlined, so it joins the transaction and works on either driver.
 */
export async function queryPrepared<R = Record<string, unknown>>(em: PlainReader, text: string, values: readonly unknown[]): Promise<R[]> {
  const pool = em.getTransactionContext() ? null : await pgPoolOf(em);
  if (!pool) {
    const inlined: unknown[] = [];
    const sql = text.replace(/\$(\d+)/g, (_, n: string) => (inlined.push(inlineable(values[Number(n) - 1])), '?'));
    return em.execute<R[]>(sql, inlined);
  }
  const connection = em.getConnection() as unknown as { executeQuery<T>(query: string, cb: () => Promise<T>, context?: object): Promise<T> };
  return connection.executeQuery(text, async () => (await pool.query({ name: statementName(text), text, values: values as unknown[] })).rows as R[], { params: values });
}

/** `queryPrepared` mapped with `toPlainRows`. */
export const readPreparedRows = rowReader(queryPrepared);

const names = new Map<string, string>();
/** A name per statement text: `pg` refuses one name for two texts on a connection. */
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) names.set(text, (name = `bg_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`));
  return name;
}

const pools = new WeakMap<object, Promise<pg.Pool | null>>();
/** The ORM's `pg` pool, or null on another driver (PGlite). */
function pgPoolOf(em: PlainReader): Promise<pg.Pool | null> {
  const connection = em.getConnection();
  let pool = pools.get(connection);
  if (!pool) {
    const native = connection as unknown as { getNativeClient?: () => Promise<unknown> };
    pool = (async () => {
      if (typeof native.getNativeClient !== 'function') return null;
      const client = await native.getNativeClient();
      // pg's Pool (PGlite's client has no `connect`/`totalCount`).
      return client && typeof (client as pg.Pool).connect === 'function' && 'totalCount' in (client as object) ? (client as pg.Pool) : null;
    })();
    pools.set(connection, pool);
  }
  return pool;
}

/** A value for `em.execute`'s inlining: arrays become one PostgreSQL array literal (`'{"a","b"}'`), cast by the statement. */
function inlineable(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return `{${value.map((v) => (v === null || v === undefined ? 'NULL' : `"${String(v).replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;
}
