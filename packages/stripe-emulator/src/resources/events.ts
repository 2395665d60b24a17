import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';

type EventRecord = Stripe.Event & Stored;

/** `type=customer.*` style wildcards (Stripe allows `*` in the `type` filter). */
function typeMatcher(pattern: string): (type: string) => boolean {
  if (!pattern.includes('*')) return (t) => t === pattern;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (t) => re.test(t);
}

/** `/v1/events`: the events the emulator emitted, newest first, with Stripe's filters. */
export function registerEvents(router: Router, emu: Emulator): void {
  router.get('/v1/events/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require<EventRecord>('event', path.id!, 'event');
  });

  router.get('/v1/events', ({ params: p, url }) => {
    const type = p.string('type');
    const types = p.strings('types');
    const created = createdFilter(p);
    const deliverySuccess = p.bool('delivery_success');
    if (type && types) throw invalidRequest('You may only specify one of these parameters: type, types.', 'types');
    if (types && types.length > 20) throw invalidRequest('types may hold at most 20 event types.', 'types');
    if (types?.some((t) => t.includes('*'))) throw invalidRequest('types cannot contain wildcards; use type instead.', 'types');
    const matches = type ? typeMatcher(type) : types ? (t: string) => types.includes(t) : () => true;
    const list = newestFirst(emu.store.all<EventRecord>('event')).filter(
      (e) =>
        matches(e.type) &&
        (!created || created(e.created)) &&
        (deliverySuccess === undefined || (e.pending_webhooks === 0) === deliverySuccess),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}
