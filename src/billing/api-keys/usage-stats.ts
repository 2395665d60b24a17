/**
 * Per-key verification counters by outcome and `lastUsedAt`, gathered in memory and written for all
 * keys every `STATS_FLUSH_MS` (and on stop), 200 keys a statement: never a write per verification. A
 * failed write keeps its counts for the next one.
 *
 * A key's counters stay in memory from one flush to the next (zeroed when written, dropped after a
 * flush interval without a verification): an object per key and second would outlive the young
 * generation's scavenges and be promoted, only to be garbage in the old generation a second later.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from '../../log.js';
import { queryRows } from '../../db/sql.js';

export const STATS_FLUSH_MS = 1_000;
/** Keys per statement. */
const WRITE_CHUNK = 200;

interface Pending {
  /** Epoch ms (no Date per verification). */
  lastUsed: number;
  /** Counts by code since the last write (0: written). */
  counts: Record<string, number>;
  /** Whether anything was counted since the last write. */
  used: boolean;
}

interface Written {
  id: string;
  last_used: string;
  counts: Record<string, number>;
}

export class KeyUsageStats {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly em: EntityManager,
    private readonly log: Logger,
  ) {}

  /** `at`: epoch ms. */
  record(keyId: string, code: string, at: number, n = 1): void {
    let p = this.pending.get(keyId);
    if (!p) this.pending.set(keyId, (p = { lastUsed: at, counts: {}, used: false }));
    if (at > p.lastUsed || !p.used) p.lastUsed = at;
    p.used = true;
    p.counts[code] = (p.counts[code] ?? 0) + n;
  }

  start(intervalMs = STATS_FLUSH_MS): void {
    this.timer ??= setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  flush(): Promise<void> {
    return (this.flushing ??= this.write().finally(() => (this.flushing = null)));
  }

  /** What was counted since the last write, each key's counters zeroed; keys idle since then are dropped. */
  private take(): Written[] {
    const out: Written[] = [];
    for (const [id, p] of this.pending) {
      if (!p.used) {
        this.pending.delete(id);
        continue;
      }
      const counts: Record<string, number> = {};
      for (const code in p.counts) {
        if (p.counts[code]! > 0) counts[code] = p.counts[code]!;
        p.counts[code] = 0;
      }
      out.push({ id, last_used: new Date(p.lastUsed).toISOString(), counts });
      p.used = false;
    }
    return out;
  }

  private async write(): Promise<void> {
    const batch = this.take();
    // In statements of WRITE_CHUNK keys, one after the other: the driver inlines the JSON parameter
    // character by character, and a statement for every key at once held the event loop for milliseconds.
    for (let i = 0; i < batch.length; i += WRITE_CHUNK) {
      const chunk = batch.slice(i, i + WRITE_CHUNK);
      try {
        await queryRows(
          this.em,
          `update api_keys k set last_used_at = greatest(k.last_used_at, v.last_used),
             verifications = (select coalesce(jsonb_object_agg(e.key, coalesce((k.verifications->>e.key)::bigint, 0) + coalesce((v.counts->>e.key)::bigint, 0)), '{}'::jsonb)
                              from jsonb_object_keys(k.verifications || v.counts) as e(key))
           from jsonb_to_recordset(?::jsonb) as v(id text, last_used timestamptz, counts jsonb)
           where k.id = v.id`,
          [JSON.stringify(chunk)],
        );
      } catch (err) {
        this.log.warn({ err: (err as Error).message, keys: chunk.length }, 'writing API key usage stats failed; kept for the next flush');
        for (const w of chunk) {
          const at = Date.parse(w.last_used);
          for (const [code, n] of Object.entries(w.counts)) this.record(w.id, code, at, n);
        }
      }
    }
  }
}
