/** The fan-out core alone (no sockets): sharing, one serialization per value, release of the source. */
import { setImmediate } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createFanoutHub } from '../../src/http/fanout/hub.js';

/** A push-driven source (an async iterator whose `return()` also ends a pending `next()`) that records whether it was opened and released. */
function source() {
  const state = { opened: 0, released: 0 };
  const queue: number[] = [];
  let waiting: ((r: IteratorResult<number>) => void) | null = null;
  let ended = false;
  const finish = () => {
    ended = true;
    waiting?.({ done: true, value: undefined });
    waiting = null;
  };
  const iterator: AsyncIterableIterator<number> = {
    next() {
      if (queue.length) return Promise.resolve({ done: false, value: queue.shift()! });
      if (ended) return Promise.resolve({ done: true, value: undefined });
      return new Promise((r) => (waiting = r));
    },
    async return() {
      state.released++;
      finish();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return {
    state,
    gen() {
      state.opened++;
      return iterator;
    },
    push(n: number) {
      if (waiting) {
        waiting({ done: false, value: n });
        waiting = null;
      } else queue.push(n);
    },
    end: finish,
  };
}

// The hub core does no I/O: one turn of the event loop settles everything a push set off.
const tick = () => setImmediate();

describe('fan-out hub', () => {
  it('opens one source per key, serializes each value once, and releases the source with the last subscriber', async () => {
    let serialized = 0;
    const hub = createFanoutHub<number>({ serialize: (n) => (serialized++, JSON.stringify({ n })) });
    const src = source();
    const got: Record<string, string[]> = { a: [], b: [], c: [] };
    const join = (name: string) => hub.join('k', async () => src.gen(), { deliver: (_v, s) => got[name]!.push(s) });
    const [a, b, c] = await Promise.all([join('a'), join('b'), join('c')]);
    expect(src.state.opened).toBe(1);
    expect(hub.keys).toBe(1);
    expect(hub.subscribers).toBe(3);

    src.push(1);
    await tick();
    if (b!.kind !== 'stream') throw new Error('expected a stream');
    b.membership.leave();
    src.push(2);
    await tick();
    expect(got).toEqual({ a: ['{"n":1}', '{"n":2}'], b: ['{"n":1}'], c: ['{"n":1}', '{"n":2}'] });
    expect(serialized).toBe(2);

    for (const m of [a, c]) if (m!.kind === 'stream') m.membership.leave();
    await tick();
    expect(hub.keys).toBe(0);
    expect(hub.subscribers).toBe(0);
    expect(src.state.released).toBe(1);
  });

  it('ends every membership when the source ends, and opens afresh afterwards', async () => {
    const hub = createFanoutHub<number>({ serialize: String });
    const first = source();
    const m = await hub.join('k', async () => first.gen(), { deliver: () => undefined });
    if (m.kind !== 'stream') throw new Error('expected a stream');
    first.end();
    await m.membership.ended;
    expect(hub.keys).toBe(0);
    const second = source();
    await hub.join('k', async () => second.gen(), { deliver: () => undefined });
    expect(second.state.opened + first.state.opened).toBe(2);
    expect(hub.keys).toBe(1);
  });

  it('a single value (not a stream) goes to whoever joined while it opened and is not kept', async () => {
    const hub = createFanoutHub<string>({ serialize: String });
    let opens = 0;
    const open = async () => (opens++, 'FORBIDDEN');
    const results = await Promise.all([hub.join('k', open, { deliver: () => undefined }), hub.join('k', open, { deliver: () => undefined })]);
    expect(results).toEqual([{ kind: 'single', value: 'FORBIDDEN' }, { kind: 'single', value: 'FORBIDDEN' }]);
    expect(opens).toBe(1);
    expect(hub.keys).toBe(0);
    await hub.join('k', open, { deliver: () => undefined });
    expect(opens).toBe(2);
  });
});
