/**
 * Opaque, stable cursors for newest-first keyset pagination over (createdAt, id): a cursor names
 * the last row seen, so inserts and deletes elsewhere never shift a page.
 */
import { badUserInput } from '../../errors.js';

export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(pos: KeysetPosition): string {
  return Buffer.from(`${pos.createdAt.getTime()}:${pos.id}`, 'utf8').toString('base64url');
}

/** Decodes a client-supplied cursor; BAD_USER_INPUT naming `field` when it is not one of ours. */
export function decodeCursor(cursor: string, field = 'after'): KeysetPosition {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const m = /^(\d{1,15}):([A-Za-z0-9_]{1,255})$/.exec(text);
  if (!m) throw badUserInput(field, `${field}: not a valid cursor`);
  return { createdAt: new Date(Number(m[1])), id: m[2]! };
}

/** Rows strictly after `pos` in (createdAt desc, id desc) order, as a MikroORM filter. */
export function afterPosition(pos: KeysetPosition) {
  return { $or: [{ createdAt: { $lt: pos.createdAt } }, { createdAt: pos.createdAt, id: { $lt: pos.id } }] };
}

/** `first` for a connection: 1..max, BAD_USER_INPUT naming `first` otherwise; null/undefined → fallback. */
export function pageSize(first: number | null | undefined, fallback = 20, max = 100): number {
  if (first === null || first === undefined) return fallback;
  if (!Number.isInteger(first) || first < 1 || first > max) throw badUserInput('first', `first: expected an integer 1-${max}, got ${first}`);
  return first;
}
