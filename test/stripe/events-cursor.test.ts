import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncState } from '../../src/db/entities/sync-state.js';
import { createLogger } from '../../src/log.js';
import { EVENTS_CURSOR_KEY, eventsCursorUnreadable, readEventsCursor, writeEventsCursor } from '../../src/stripe/sync/missed-events.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

/**
 * An unreadable events-sync cursor makes the sync start over as on a first run: that must be said (a
 * warning naming the key) and counted (`stripe_events_cursor_unreadable_total`), never done silently.
 */
let db: TestOrm;
const lines: { level: number; msg: string; key?: string; value?: string }[] = [];
const log = createLogger({ level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } });

beforeAll(async () => {
  db = await createTestOrm();
});
afterAll(() => db?.dispose());

const unreadable = async () => (await eventsCursorUnreadable.get()).values[0]?.value ?? 0;
const store = (value: string) => db.orm.em.fork().upsert(SyncState, { key: EVENTS_CURSOR_KEY, value, updatedAt: new Date() });

describe('the events-sync cursor', () => {
  it('reads back what was written, with nothing logged or counted', async () => {
    const before = await unreadable();
    await writeEventsCursor(db.orm.em.fork(), { id: 'evt_1', created: 1_800_000_000 });
    expect(await readEventsCursor(db.orm.em.fork(), log)).toEqual({ id: 'evt_1', created: 1_800_000_000 });
    expect(await unreadable()).toBe(before);
    expect(lines).toEqual([]);
  });

  it.each([
    ['not JSON', '{"id": "evt_1", "created'],
    ['the wrong shape', '{"id": 42}'],
  ])('%s: null, one warning naming the key, one count', async (_what, value) => {
    lines.length = 0;
    const before = await unreadable();
    await store(value);
    expect(await readEventsCursor(db.orm.em.fork(), log)).toBeNull();
    expect(await unreadable()).toBe(before + 1);
    expect(lines).toEqual([expect.objectContaining({ level: 40, key: EVENTS_CURSOR_KEY, value, msg: expect.stringMatching(/cursor is unreadable/) })]);
  });
});
