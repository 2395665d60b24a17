/**
 * The unsent-bytes budget alone (src/http/fanout/budget.ts): who is a slow consumer, and that the
 * sockets keeping up are never evicted. Sockets here are plain objects with a `bufferedAmount`.
 */
import { describe, expect, it } from 'vitest';
import { createBufferBudget } from '../../src/http/fanout/budget.js';

type Sock = { name: string; bufferedAmount: number };

function setup(total: number, perSocket: number, names: string[]) {
  const evicted: { name: string; reason: string }[] = [];
  const budget = createBufferBudget<Sock>({ total, perSocket, evict: (s, reason) => evicted.push({ name: s.name, reason }) });
  const socks = Object.fromEntries(names.map((name) => [name, { name, bufferedAmount: 0 }])) as Record<string, Sock>;
  for (const s of Object.values(socks)) budget.add(s);
  return { budget, socks, evicted };
}

describe('buffer budget', () => {
  it('evicts a socket over the per-socket limit, and only it', () => {
    const { budget, socks, evicted } = setup(0, 100, ['a', 'b']);
    socks.a!.bufferedAmount = 100;
    expect(budget.admit(socks.a!)).toBe(true);
    socks.a!.bufferedAmount = 101;
    socks.b!.bufferedAmount = 99;
    expect(budget.admit(socks.a!)).toBe(false);
    expect(budget.admit(socks.b!)).toBe(true);
    expect(evicted).toEqual([{ name: 'a', reason: 'Slow consumer: 101 bytes unsent, over the limit of 100 per socket' }]);
    // Evicted: no longer tracked, never admitted again.
    socks.a!.bufferedAmount = 0;
    expect(budget.admit(socks.a!)).toBe(false);
    expect(budget.sockets).toBe(1);
    expect(budget.bufferedBytes).toBe(99);
  });

  it('past the total, evicts every socket above its fair share, and only those', () => {
    const { budget, socks, evicted } = setup(300, 0, ['slow1', 'slow2', 'ok']);
    socks.slow1!.bufferedAmount = 120;
    socks.slow2!.bufferedAmount = 150;
    socks.ok!.bufferedAmount = 40;
    expect(budget.admit(socks.slow1!)).toBe(true);
    expect(budget.admit(socks.slow2!)).toBe(true);
    // 310 > 300: the share is 100 each; the socket being sent to is within it and goes on.
    expect(budget.admit(socks.ok!)).toBe(true);
    expect(evicted.map((e) => e.name)).toEqual(['slow1', 'slow2']);
    expect(evicted[1]!.reason).toBe('Slow consumer: 150 bytes unsent, over its share (100) of 300 for all sockets');
    expect(budget.sockets).toBe(1);
    expect(budget.bufferedBytes).toBe(40);
  });

  it('recounts before evicting: sockets that drained since they were last seen count as drained', () => {
    const { budget, socks, evicted } = setup(300, 0, ['a', 'b']);
    socks.a!.bufferedAmount = 250;
    expect(budget.admit(socks.a!)).toBe(true);
    // a drained without being sent to again; the last-seen sum (250 + 100) passes the total, the real one does not.
    socks.a!.bufferedAmount = 0;
    socks.b!.bufferedAmount = 100;
    expect(budget.admit(socks.b!)).toBe(true);
    expect(evicted).toEqual([]);
    expect(budget.bufferedBytes).toBe(100);
  });

  it('forgets a closed socket (delete is idempotent)', () => {
    const { budget, socks } = setup(1000, 1000, ['a']);
    socks.a!.bufferedAmount = 10;
    budget.admit(socks.a!);
    budget.delete(socks.a!);
    budget.delete(socks.a!);
    expect(budget.sockets).toBe(0);
    expect(budget.bufferedBytes).toBe(0);
  });
});
