import type { Emulator } from './emulator.js';
import { invalidRequest } from './errors.js';
import { jsonClone } from './events.js';
import type { Stored } from './store.js';

/** Which stored kind an id belongs to: by the field that holds it first, then by id prefix. */
const FIELD_KINDS: Record<string, string> = {
  customer: 'customer',
  product: 'product',
  price: 'price',
  coupon: 'coupon',
  promotion_code: 'promotion_code',
  subscription: 'subscription',
  invoice: 'invoice',
  latest_invoice: 'invoice',
  payment_intent: 'payment_intent',
  default_payment_method: 'payment_method',
  payment_method: 'payment_method',
  test_clock: 'test_helpers.test_clock',
  schedule: 'subscription_schedule',
  charge: 'charge',
  latest_charge: 'charge',
  meter: 'billing.meter',
  balance_transaction: 'balance_transaction',
  setup_intent: 'setup_intent',
  refund: 'refund',
  credit_note: 'credit_note',
};
const PREFIX_KINDS: [string, string][] = [
  ['cus_', 'customer'],
  ['sub_', 'subscription'],
  ['si_', 'subscription_item'],
  ['in_', 'invoice'],
  ['pi_', 'payment_intent'],
  ['pm_', 'payment_method'],
  ['price_', 'price'],
  ['prod_', 'product'],
  ['clock_', 'test_helpers.test_clock'],
  ['promo_', 'promotion_code'],
  ['ch_', 'charge'],
  ['cs_', 'checkout.session'],
  ['di_', 'discount'],
  ['mtr_', 'billing.meter'],
  ['we_', 'webhook_endpoint'],
  ['evt_', 'event'],
  ['txn_', 'balance_transaction'],
  ['re_', 'refund'],
  ['seti_', 'setup_intent'],
  ['cn_', 'credit_note'],
  ['card_', 'payment_method'],
];

function kindFor(field: string, id: string): string | undefined {
  return FIELD_KINDS[field] ?? PREFIX_KINDS.find(([prefix]) => id.startsWith(prefix))?.[1];
}

/**
 * Applies Stripe's `expand[]` to a response: ids at the given dotted paths are replaced by
 * copies of the objects they name; `data.` walks the items of a list. Works on a deep copy,
 * never on stored objects.
 */
export function expandResponse(emu: Emulator, body: unknown, paths: string[]): unknown {
  if (paths.length === 0 || !body || typeof body !== 'object') return body;
  const copy = jsonClone(body) as Record<string, unknown>;
  for (const path of paths) {
    const segments = path.split('.');
    if (segments.length > 4) throw invalidRequest(`You cannot expand more than 4 levels of a property (${path}).`, 'expand');
    expandAt(emu, copy, segments, path);
  }
  return copy;
}

function expandAt(emu: Emulator, obj: Record<string, unknown>, segments: string[], path: string): void {
  const [head, ...rest] = segments as [string, ...string[]];
  if (obj.object === 'list' && Array.isArray(obj.data) && head === 'data') {
    for (const item of obj.data) if (item && typeof item === 'object') expandAt(emu, item as Record<string, unknown>, rest, path);
    return;
  }
  const compute = emu.includables.get(String(obj.object))?.get(head);
  if (compute) obj[head] = compute(obj as Stored, emu);
  let value = obj[head];
  if (!(head in obj) && !compute) {
    throw invalidRequest(`This property cannot be expanded (${path}).`, 'expand');
  }
  const resolve = (id: string): unknown => {
    const kind = kindFor(head, id);
    const found = kind ? emu.store.get(kind, id) : undefined;
    if (!found) throw invalidRequest(`This property cannot be expanded (${path}).`, 'expand');
    return jsonClone(found);
  };
  if (typeof value === 'string') value = resolve(value);
  else if (Array.isArray(value)) value = value.map((v) => (typeof v === 'string' ? resolve(v) : v));
  obj[head] = value;
  if (rest.length === 0 || value === null || value === undefined) return;
  const targets = Array.isArray(value) ? value : [value];
  for (const t of targets) if (t && typeof t === 'object') expandAt(emu, t as Record<string, unknown>, rest, path);
}
