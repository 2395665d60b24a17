import { describe, expect, it } from 'vitest';
import { createSignalBus, TOPICS, type MrrReportPayload } from '../../src/events/index.js';

const report = (n: number): MrrReportPayload => ({ asOf: new Date(0).toISOString(), totals: [], activeSubscriptions: n, byPlan: [] });

describe('the in-process signal bus', () => {
  it('keeps delivering to everyone else when one subscriber stops reading', async () => {
    const bus = createSignalBus();
    const stuck = bus.pubSub.subscribe(TOPICS.mrrUpdated)[Symbol.asyncIterator]();
    const live = bus.pubSub.subscribe(TOPICS.mrrUpdated)[Symbol.asyncIterator]();
    const first = [stuck.next(), live.next()];
    bus.publish(TOPICS.mrrUpdated, report(0));
    await Promise.all(first);
    // The stuck subscriber reads no more: past 1024 waiting events its queue overflows.
    const received: number[] = [];
    const total = 1500;
    const reading = (async () => {
      while (received.length < total) received.push((await live.next()).value!.activeSubscriptions);
    })();
    for (let i = 1; i <= total; i++) {
      expect(() => bus.publish(TOPICS.mrrUpdated, report(i))).not.toThrow();
      // The live reader keeps up (it gets a turn every 100 events); the stuck one does not.
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await reading;
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await stuck.return?.();
    await live.return?.();
  });
});
