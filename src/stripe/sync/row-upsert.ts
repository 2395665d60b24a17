/**
 * Many rows of one mirror table upserted in one statement, as `em.upsertMany` writes them (insert,
 * or update every given column on a primary-key conflict), without its unit of work: upsertMany
 * builds, registers and merges an entity per row, which cost the full sync most of its CPU. The rows
 * travel as one JSON array read by `json_populate_recordset` with the table's own row type, so each
 * value is parsed as its column's type by PostgreSQL (timestamps from ISO text, jsonb from the nested
 * object). Nothing is read back: the caller keeps no entity. The array is a bound parameter
 * (`boundRows`), not text inlined into the statement.
 */
import type { EntityManager, EntityName } from '@mikro-orm/core';
import { boundRows } from '../mirror/bound-sql.js';

interface Shape {
  sql: string;
  /** Property name → column name, in the statement's order. */
  columns: [string, string][];
}

const shapes = new Map<string, Shape>();

function shapeOf(em: EntityManager, entity: EntityName<object>, keys: string[]): Shape {
  const meta = em.getMetadata().find(entity);
  if (!meta) throw new Error(`row upsert: no metadata for ${String(entity)}`);
  const cacheKey = `${meta.className}|${keys.join(',')}`;
  const cached = shapes.get(cacheKey);
  if (cached) return cached;
  const props = meta.properties as Record<string, { fieldNames?: string[] } | undefined>;
  const columns = keys.map((key): [string, string] => {
    const column = props[key]?.fieldNames?.[0];
    if (!column) throw new Error(`row upsert: ${meta.className}.${key} is not a column`);
    return [key, column];
  });
  const pk = meta.primaryKeys.map((key) => props[key as string]?.fieldNames?.[0] ?? String(key));
  const quoted = columns.map(([, c]) => `"${c}"`).join(', ');
  const updates = columns
    .filter(([, c]) => !pk.includes(c))
    .map(([, c]) => `"${c}" = excluded."${c}"`)
    .join(', ');
  const sql =
    `insert into "${meta.tableName}" (${quoted}) select ${quoted} from json_populate_recordset(null::"${meta.tableName}", $1::json) ` +
    `on conflict (${pk.map((c) => `"${c}"`).join(', ')}) do ${updates ? `update set ${updates}` : 'nothing'}`;
  const shape = { sql, columns };
  shapes.set(cacheKey, shape);
  return shape;
}

/** Upserts `rows` (row data as the mirror's mappers build it, by property name; a property a row lacks is null) in one statement, in their order. */
export async function upsertPageRows<T extends object>(em: EntityManager, entity: EntityName<T>, rows: readonly Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const keys = new Set<string>();
  for (const row of rows) for (const key in row) keys.add(key);
  const { sql, columns } = shapeOf(em, entity as EntityName<object>, [...keys]);
  const json = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [key, column] of columns) out[column] = row[key] ?? null;
    return out;
  });
  await boundRows(em, sql, [JSON.stringify(json)]);
}
