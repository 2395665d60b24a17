/** GroupCommitQueue's gap: items submitted while a finished statement keeps its slot go together in the next. */
import { describe, expect, it } from 'vitest';
import { GroupCommitQueue } from '../../src/db/group-commit.js';

describe('GroupCommitQueue gapMs', () => {
  it('answers a batch at once but holds its slot, so what arrives meanwhile goes in one batch', async () => {
    const batches: number[][] = [];
    const queue = new GroupCommitQueue<number, number>(
      async (items) => {
        batches.push(items);
        return items.map((n) => n * 10);
      },
      { maxInFlight: 1, gapMs: 50 },
    );
    expect(await queue.submit(1)).toBe(10);
    // The first batch is answered, its slot still held: these three wait and then go together.
    const rest = await Promise.all([queue.submit(2), queue.submit(3), queue.submit(4)]);
    expect(rest).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('without a gap, the next item goes as soon as the slot is free', async () => {
    const batches: number[][] = [];
    const queue = new GroupCommitQueue<number, number>(async (items) => (batches.push(items), items), { maxInFlight: 1 });
    await queue.submit(1);
    await new Promise<void>((r) => setImmediate(r));
    await Promise.all([queue.submit(2), queue.submit(3)]);
    expect(batches[0]).toEqual([1]);
    expect(batches[1]).toEqual([2]);
  });
});
