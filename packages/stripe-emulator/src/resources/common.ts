import type { Emulator } from '../emulator.js';
import { jsonClone, previousAttributes } from '../events.js';
import type { Stored } from '../store.js';

/** Applies a metadata update as Stripe does: empty value deletes a key, an empty hash clears all. */
export function mergeMetadata(
  current: Record<string, string>,
  update: Record<string, string | null> | null | undefined,
): Record<string, string> {
  if (update === undefined) return current;
  if (update === null) return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(update)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}

/**
 * Runs `mutate` on a stored object and, when anything changed, emits `<type>` with
 * `previous_attributes` (Stripe's `*.updated` events).
 */
export function updateWithEvent<T extends Stored>(emu: Emulator, eventType: string, obj: T, mutate: (o: T) => void): T {
  const before = jsonClone(obj) as Record<string, unknown>;
  mutate(obj);
  const prev = previousAttributes(before, obj as Record<string, unknown>);
  if (Object.keys(prev).length > 0) {
    emu.store.changed();
    emu.events.emit(eventType, obj, { previousAttributes: prev });
  }
  return obj;
}
