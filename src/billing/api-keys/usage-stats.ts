/**
 * Per-key verification counters by outcome and `lastUsedAt`, gathered in memory and written for all
 * keys every `STATS_FLUSH_MS` (and on stop), 200 keys a statement: never a write per verification. A
 * failed write keeps its counts for the next one.
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
  counts: Record<string, number>;
}

export class KeyUsageStats {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly em: EntityManager,
    private readonly log: Logger,
  ) {}

  /** `at`: epoch ms. */
  record(keyId: string, code: string, at: number, n = 1): void {
    let p = this.pending.get(keyId);
    if (!p) this.pending.set(keyId, (p = { lastUsed: at, counts: {} }));
    if (at > p.lastUsed) p.lastUsed = at;
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

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending = new Map();
    // In statements of WRITE_CHUNK keys, one after the other: the driver inlines the JSON parameter
    // character by character, and a statement for every key at once held the event loop for milliseconds.
    for (let i = 0; i < batch.length; i += WRITE_CHUNK) {
      const chunk = batch.slice(i, i + WRITE_CHUNK);
      const json = JSON.stringify(chunk.map(([id, p]) => ({ id, last_used: new Date(p.lastUsed).toISOString(), counts: p.counts })));
      try {
        await queryRows(
          this.em,
          `update api_keys k set last_used_at = greatest(k.last_used_at, v.last_used),
             verifications = (select coalesce(jsonb_object_agg(e.key, coalesce((k.verifications->>e.key)::bigint, 0) + coalesce((v.counts->>e.key)::bigint, 0)), '{}'::jsonb)
                              from jsonb_object_keys(k.verifications || v.counts) as e(key))
           from jsonb_to_recordset(?::jsonb) as v(id text, last_used timestamptz, counts jsonb)
           where k.id = v.id`,
          [json],
        );
      } catch (err) {
        this.log.warn({ err: (err as Error).message, keys: chunk.length }, 'writing API key usage stats failed; kept for the next flush');
        for (const [id, p] of chunk) {
          for (const [code, n] of Object.entries(p.counts)) this.record(id, code, p.lastUsed, n);
        }
      }
    }
  }
}
