/**
 * Read-only entity-shaped rows straight from SQL, for the request-scoped read loaders (GraphQL).
 *
 * `em.find` builds a query, hydrates an entity per row, registers it in the identity map and takes a
 * change-tracking snapshot (JSON columns cloned): ~0.3 ms per statement plus ~15 µs per row, which
 * was most of the gateway's CPU on a customer read (bench `read`). These rows skip all of it: plain
 * objects with the entity's property names, dates parsed as the ORM would. They are not managed:
 * never persist, modify or flush them (write paths load their own entities).
 */
import type { EntityClass, EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';

interface Column {
  prop: string;
  column: string;
  date: boolean;
}

/** The entity's columns (all, or all but `omit`), by entity and omit list. */
const columnsByEntity = new WeakMap<object, Map<string, Column[]>>();

function columnsOf(em: EntityManager, entity: EntityClass<object>, omit: readonly string[] = []): Column[] {
  let byOmit = columnsByEntity.get(entity);
  if (!byOmit) columnsByEntity.set(entity, (byOmit = new Map()));
  const key = omit.join(',');
  let columns = byOmit.get(key);
  if (!columns) {
    const meta = em.getMetadata().get(entity);
    columns = meta.props
      .filter((p) => p.persist !== false && p.fieldNames?.length === 1 && !omit.includes(p.name))
      .map((p) => ({ prop: p.name, column: p.fieldNames[0]!, date: p.runtimeType === 'Date' }));
    byOmit.set(key, columns);
  }
  return columns;
}

/**
 * The select list for plain rows without the `omit` properties (e.g. `raw`, the stored Stripe
 * object: the widest column, which reads answered from columns never use): `a.id, a.customer_id, …`.
 */
export function selectColumns<T extends object>(em: EntityManager, entity: EntityClass<T>, omit: readonly (keyof T & string)[], alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return columnsOf(em, entity, omit)
    .map((c) => prefix + c.column)
    .join(', ');
}

/**
 * Maps SQL rows (`select *` of the entity's table, or `selectColumns` with the same `omit`; extra
 * columns are ignored) to plain read-only rows.
 */
export function toPlainRows<T extends object, K extends keyof T & string = never>(
  em: EntityManager,
  entity: EntityClass<T>,
  rows: readonly Record<string, unknown>[],
  omit: readonly K[] = [],
): Omit<T, K>[] {
  const columns = columnsOf(em, entity, omit);
  const platform = em.getPlatform();
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const c of columns) {
      const v = row[c.column];
      // Drivers hand timestamps over as strings (MikroORM's type parsers); the entity holds Dates.
      out[c.prop] = c.date && v !== null && v !== undefined && !(v instanceof Date) ? platform.parseDate(v as string) : v;
    }
    return out as Omit<T, K>;
  });
}

/** Runs `sql` (`?` placeholders) and maps its rows with `toPlainRows` (pass the `omit` its select list used). */
export async function readPlainRows<T extends object, K extends keyof T & string = never>(
  em: EntityManager,
  entity: EntityClass<T>,
  sql: string,
  params: readonly unknown[],
  omit: readonly K[] = [],
): Promise<Omit<T, K>[]> {
  const rows = await (em as SqlEntityManager).execute<Record<string, unknown>[]>(sql, [...params]);
  return toPlainRows(em, entity, rows, omit);
}

/** `?, ?, ?` for `n` values. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
