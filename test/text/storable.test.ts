/**
 * `toStorableText` remembers the objects it found clean (and those `markStorable` names), so an object
 * the mirror writes twice is walked once; an object holding unstorable text is never remembered as clean.
 */
import { describe, expect, it } from 'vitest';
import { markStorable, toStorableText } from '../../src/text/storable.js';

describe('toStorableText', () => {
  it('returns a clean object itself, every time', () => {
    const clean = { id: 'cus_1', name: 'Ada', lines: [{ description: 'Seat' }] };
    expect(toStorableText(clean)).toBe(clean);
    expect(toStorableText(clean)).toBe(clean);
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

  it('takes an object marked storable as it is (parsed from JSON text without the escapes)', () => {
    const parsed = JSON.parse('{"id":"in_1","status":"paid"}') as object;
    markStorable(parsed);
    expect(toStorableText(parsed)).toBe(parsed);
  });
});
