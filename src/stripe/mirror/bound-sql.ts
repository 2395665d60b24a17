/**
 * Statements with bound parameters (`$1`, `$2`…) on `em`'s connection, in its transaction when it has
 * one. MikroORM's `execute` inlines every value into the SQL text first (quoting and escaping it), which
 * for a row with its 2–10 KB `raw` copy costs more than the statement itself; here the driver sends
 * the values apart. Errors come back as MikroORM's exceptions, as from `queryRows`. They do not pass
 * through MikroORM's query logger (`debug` logging, `onQuery` counts), as the inbox's inserts do not.
 */
import { hash } from 'node:crypto';
import type { EntityClass, EntityManager } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';

interface Executor {
  executeQuery(compiled: unknown): Promise<{ rows: unknown[] }>;
}

export async function boundRows<T>(em: EntityManager, sql: string, params: readonly unknown[]): Promise<T[]> {
  const connection = em.getConnection() as unknown as { getClient(): Executor };
  const ctx = (em.getTransactionContext() as Executor | undefined) ?? connection.getClient();
  const name = preparedName(em, sql, params.length);
  // Kysely's compiled-query shape (what its drivers read: sql and parameters), built here so the
  // gateway does not depend on kysely itself. Its pg driver hands `sql` to `client.query` as is, so a
  // query config with a name makes it a prepared statement of the connection.
  const compiled = { sql: name ? { text: sql, name } : sql, parameters: params, query: { kind: 'RawNode', sqlFragments: [sql], parameters: [] }, queryId: { queryId: 'mirror' } };
  try {
    return (await ctx.executeQuery(compiled)).rows as T[];
  } catch (err) {
    throw em.getDriver().convertException(err as Error);
  }
}

/**
 * Statements of a few rows are prepared once per connection on PostgreSQL (`pg` keeps a named
 * statement per connection and sends only Bind and Execute after the first time): the webhook worker
 * writes the same few shapes for every event, and parsing and planning each anew was a large part of
 * PostgreSQL's time per event. Statements with many parameters (a shape seldom seen twice) and
 * texts beyond the first `MAX_NAMED` stay unnamed; so do other drivers (PGlite).
 */
const MAX_NAMED = 512;
const MAX_NAMED_PARAMS = 256;
const names = new Map<string, string>();

export function preparedName(em: EntityManager, sql: string, paramCount: number): string | null {
  if (paramCount > MAX_NAMED_PARAMS || !(em.getDriver() instanceof PostgreSqlDriver)) return null;
  let name = names.get(sql);
  if (name === undefined) {
    if (names.size >= MAX_NAMED) return null;
    name = `bg_${hash('sha1', sql, 'base64url')}`;
    names.set(sql, name);
  }
  return name;
}

function valuesOf(rows: number, columns: Column[], valueSql: Record<string, (placeholder: string, id: string) => string> = {}): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const at = (i: number) => `$${r * columns.length + i + 1}::${columns[i]!.type}`;
    out.push(`(${columns.map((c, i) => valueSql[c.key]?.(at(i), at(0)) ?? at(i)).join(', ')})`);
  }
  return out.join(', ');
}

/** An entity class (its metadata names the columns). */
type Entity = EntityClass<object> & { name: string };

interface Column {
  key: string;
  name: string;
  type: string;
  json: boolean;
}

const columnCache = new WeakMap<object, Map<string, Column[]>>();

/** The entity's columns for `keys` (property names), from MikroORM's metadata, cached per ORM. */
function columnsOf(em: EntityManager, entity: Entity, keys: readonly string[]): Column[] {
  const metadata = em.getMetadata();
  let byEntity = columnCache.get(metadata);
  if (!byEntity) columnCache.set(metadata, (byEntity = new Map()));
  const cacheKey = `${entity.name}:${keys.join(',')}`;
  let columns = byEntity.get(cacheKey);
  if (!columns) {
    const meta = metadata.get(entity);
    columns = keys.map((key) => {
      const prop = meta.properties[key as keyof typeof meta.properties] as { fieldNames: string[]; columnTypes: string[] } | undefined;
      if (!prop) throw new Error(`${entity.name}: no property ${key}`);
      const type = prop.columnTypes[0]!;
      return { key, name: prop.fieldNames[0]!, type, json: type === 'jsonb' || type === 'json' };
    });
    byEntity.set(cacheKey, columns);
  }
  return columns;
}

/**
 * `insert … on conflict (id) do update` of `rows` (entity property names → values, the same keys in
 * every row, the id first when `valueSql` is given) in one statement, every given column merged (or
 * `mergeKeys`), as MikroORM's `upsert` writes it.
 */
export async function upsertRows(
  em: EntityManager,
  entity: Entity,
  table: string,
  rows: readonly Record<string, unknown>[],
  opts: {
    mergeKeys?: readonly string[];
    /** SQL around a column's placeholder (e.g. a claim of a unique value), given its row's id placeholder too. */
    valueSql?: Record<string, (placeholder: string, id: string) => string>;
    /** A data-modifying `with` query run in the same statement (`name as (…)`), its parameters numbered from `first`. */
    alongside?: { sql: (first: number) => string; params: readonly unknown[] };
  } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  if (opts.valueSql && keys[0] !== 'id') throw new Error(`${entity.name}: the id must be the row's first value`);
  const columns = columnsOf(em, entity, keys);
  const params: unknown[] = [];
  for (const row of rows) {
    for (const c of columns) {
      const v = row[c.key];
      params.push(c.json && v !== null && v !== undefined ? JSON.stringify(v) : (v ?? null));
    }
  }
  const merged = columns.filter((c) => c.name !== 'id' && (!opts.mergeKeys || opts.mergeKeys.includes(c.key)));
  const alongside = opts.alongside ? `with ${opts.alongside.sql(params.length + 1)} ` : '';
  if (opts.alongside) params.push(...opts.alongside.params);
  const sql = `${alongside}insert into "${table}" (${columns.map((c) => `"${c.name}"`).join(', ')})
    values ${valuesOf(rows.length, columns, opts.valueSql)}
    on conflict ("id") do update set ${merged.map((c) => `"${c.name}" = excluded."${c.name}"`).join(', ')}`;
  await boundRows(em, sql, params);
}
