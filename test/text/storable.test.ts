/**
 * `toStorableText` remembers the objects it found clean (and those `markStorable` names), so an object
 * the mirror writes twice is walked once; an object holding unstorable text is never remembered as clean.
 */
import { describe, expect, it } from 'vitest';
import { markStorable, toStorableText } from '../../src/text/storable.js';

/** A clean object that counts how often its `name` is read (what a walk does). */
function counted(): { value: { id: string; readonly name: string; lines: { description: string }[] }; reads: () => number } {
  let reads = 0;
  const value = {
    id: 'cus_1',
    get name() {
      reads++;
      return 'Ada';
    },
    lines: [{ description: 'Seat' }],
  };
  return { value, reads: () => reads };
}

describe('toStorableText', () => {
  it('returns a clean object itself, and walks it only the first time', () => {
    const { value, reads } = counted();
    expect(toStorableText(value)).toBe(value);
    expect(reads()).toBe(1);
    expect(toStorableText(value)).toBe(value);
    expect(reads()).toBe(1);
  });

  it('replaces U+0000 and lone surrogates in a copy, on every call: such an object is never taken for clean', () => {
    const dirty = { id: 'cus_2', name: 'A\u0000da', lines: [{ description: 'x\uD800' }] };
    for (let i = 0; i < 2; i++) {
      const out = toStorableText(dirty);
      expect(out).not.toBe(dirty);
      expect(out).toEqual({ id: 'cus_2', name: 'A\uFFFDda', lines: [{ description: 'x\uFFFD' }] });
    }
    expect(dirty.name).toBe('A\u0000da');
  });

  it('takes an object marked storable (parsed from JSON text without the escapes) without walking it', () => {
    const { value, reads } = counted();
    markStorable(value);
    expect(toStorableText(value)).toBe(value);
    expect(reads()).toBe(0);
  });
});
