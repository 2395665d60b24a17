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

const columnsByEntity = new WeakMap<object, Column[]>();

function columnsOf(em: EntityManager, entity: EntityClass<object>): Column[] {
  let columns = columnsByEntity.get(entity);
  if (!columns) {
    const meta = em.getMetadata().get(entity);
    columns = meta.props
      .filter((p) => p.persist !== false && p.fieldNames?.length === 1)
      .map((p) => ({ prop: p.name, column: p.fieldNames[0]!, date: p.runtimeType === 'Date' }));
    columnsByEntity.set(entity, columns);
  }
  return columns;
}

/** Maps SQL rows (`select *` of the entity's table; extra columns are ignored) to plain read-only rows. */
export function toPlainRows<T extends object>(em: EntityManager, entity: EntityClass<T>, rows: readonly Record<string, unknown>[]): T[] {
  const columns = columnsOf(em, entity);
  const platform = em.getPlatform();
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const c of columns) {
      const v = row[c.column];
      // Drivers hand timestamps over as strings (MikroORM's type parsers); the entity holds Dates.
      out[c.prop] = c.date && v !== null && v !== undefined && !(v instanceof Date) ? platform.parseDate(v as string) : v;
    }
    return out as T;
  });
}

/** Runs `sql` (`?` placeholders) and maps its rows with `toPlainRows`. */
export async function readPlainRows<T extends object>(em: EntityManager, entity: EntityClass<T>, sql: string, params: readonly unknown[]): Promise<T[]> {
  const rows = await (em as SqlEntityManager).execute<Record<string, unknown>[]>(sql, [...params]);
  return toPlainRows(em, entity, rows);
}

/** `?, ?, ?` for `n` values. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
