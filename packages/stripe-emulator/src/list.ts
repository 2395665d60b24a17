import type { Params } from './http/params.js';
import { invalidRequest } from './errors.js';

export interface StripeList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/**
 * Stripe's cursor pagination over items already filtered and sorted newest first:
 * `limit` (1-100, default 10), `starting_after` / `ending_before` (object ids).
 */
export function paginate<T extends { id: string }>(items: T[], p: Params, url: string): StripeList<T> {
  const limit = p.int('limit', { min: 1, max: 100 }) ?? 10;
  const startingAfter = p.string('starting_after');
  const endingBefore = p.string('ending_before');
  if (startingAfter && endingBefore) {
    throw invalidRequest('You may only specify one of these parameters: ending_before, starting_after.', 'ending_before');
  }
  if (startingAfter) {
    const i = items.findIndex((x) => x.id === startingAfter);
    if (i < 0) throw invalidRequest(`No such object: '${startingAfter}'`, 'starting_after', 'resource_missing');
    const rest = items.slice(i + 1);
    return { object: 'list', data: rest.slice(0, limit), has_more: rest.length > limit, url };
  }
  if (endingBefore) {
    const i = items.findIndex((x) => x.id === endingBefore);
    if (i < 0) throw invalidRequest(`No such object: '${endingBefore}'`, 'ending_before', 'resource_missing');
    const before = items.slice(0, i);
    return { object: 'list', data: before.slice(Math.max(0, before.length - limit)), has_more: before.length > limit, url };
  }
  return { object: 'list', data: items.slice(0, limit), has_more: items.length > limit, url };
}

/** Newest first: Stripe's list order. Ties keep reverse insertion order. */
export function newestFirst<T>(items: T[]): T[] {
  return [...items].reverse();
}

/** Applies a `created`-style range filter (`created[gte]=…` or `created=…`). */
export function createdFilter(p: Params, key = 'created'): ((created: number) => boolean) | undefined {
  if (!p.has(key)) return undefined;
  if (typeof p.raw[key] === 'string') {
    const exact = p.int(key, { min: 0 })!;
    return (c) => c === exact;
  }
  const range = p.object(key)!;
  const gt = range.int('gt');
  const gte = range.int('gte');
  const lt = range.int('lt');
  const lte = range.int('lte');
  return (c) =>
    (gt === undefined || c > gt) && (gte === undefined || c >= gte) && (lt === undefined || c < lt) && (lte === undefined || c <= lte);
}
