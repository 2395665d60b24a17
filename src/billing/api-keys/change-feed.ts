/**
 * What tells a replica's verification caches that keys or customer facts changed: the `api_key_changes`
 * table, filled by triggers on every table a verification reads, whoever writes (webhook worker,
 * write-through, CLI). One statement every `POLL_MS` per process returns the customers changed since the
 * last look; the caches drop what they hold about them. So in the steady state a verification needs
 * no statement, and a change reaches every replica within `POLL_MS` plus a reload.
 *
 * A row's id is taken before its transaction commits, so "ids above the last one seen" would miss a
 * slow transaction. Instead each look asks for rows of transactions at or after the previous look's
 * snapshot xmin (the oldest transaction still running then): everything not visible then is found
 * now. Rows already handed out are remembered between two looks, so each is reported once.
 *
 * `healthy()` is false until the first look and whenever the last successful look started more than
 * `HEALTHY_MS` ago: the caches then fall back to short ages (ttl-cache.ts), and drop everything once it
 * recovers. A process that verifies nothing for `IDLE_AFTER_MS` stops looking until it verifies again.
 */
import type { SqlReader } from '../clock/customer-clock.js';
import type { Logger } from '../../log.js';

export const POLL_MS = 250;
/**
 * A look that started longer ago than this no longer vouches for the caches: a change committed just
 * after it started is then at most this old, leaving a reload's time of the 1 s a change may take.
 */
const HEALTHY_MS = 900;
const PRUNE_EVERY_MS = 60_000;
/** No look once the caches have not been used for this long. */
const IDLE_AFTER_MS = 30_000;
/** Rows older than this are deleted (a transaction running longer would be missed: none does). */
const KEEP_ROWS = '10 minutes';

export class KeyChangeFeed {
  private xmin: string | null = null;
  private lastOkStartedAt = 0;
  private seen = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private lastPrune = 0;
  private failing = false;
  private wantedAt = 0;
  private readonly listeners: ((customerIds: ReadonlySet<string>) => void)[] = [];
  private readonly resets: (() => void)[] = [];

  constructor(
    private readonly em: SqlReader,
    private readonly log: Logger,
    private readonly pollMs = POLL_MS,
  ) {}

  /** `changed`: these customers' facts or keys changed. `lost`: anything may have changed (after an outage). */
  subscribe(changed: (customerIds: ReadonlySet<string>) => void, lost: () => void): void {
    this.listeners.push(changed);
    this.resets.push(lost);
  }

  /** Asked by the caches on each use: also what keeps the looks going (none while nobody verifies). */
  healthy(now = Date.now()): boolean {
    this.wantedAt = now;
    return this.vouches(now);
  }

  private vouches(now: number): boolean {
    return now - this.lastOkStartedAt < HEALTHY_MS;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
  }

  /** One look (skipped while the previous one runs). */
  poll(): Promise<void> {
    return (this.polling ??= this.look().finally(() => (this.polling = null)));
  }

  private tick(): void {
    // Idle: no statement every 250 ms for nobody. The first look after a pause starts the caches over.
    if (Date.now() - this.wantedAt < IDLE_AFTER_MS) void this.poll();
  }

  private async look(): Promise<void> {
    const startedAt = Date.now();
    // Not healthy(): a look is no use of the caches, and must not keep the looks going by itself.
    const wasHealthy = this.vouches(startedAt);
    try {
      const [row] = await this.em.execute<{ xmin: string; changes: [string, string][] | null }[]>(
        `select pg_snapshot_xmin(pg_current_snapshot())::text as xmin,
                (select json_agg(json_build_array(c.id::text, c.customer_id)) from api_key_changes c where ?::text is not null and c.xid >= ?::text::xid8) as changes`,
        [this.xmin, this.xmin],
      );
      const changed = new Set<string>();
      const seen = new Set<string>();
      for (const [id, customerId] of row!.changes ?? []) {
        seen.add(id);
        if (!this.seen.has(id)) changed.add(customerId);
      }
      this.seen = seen;
      this.xmin = row!.xmin;
      // Changes may have been missed while no look vouched for the caches: start over.
      if (!wasHealthy) for (const reset of this.resets) reset();
      else if (changed.size > 0) for (const listener of this.listeners) listener(changed);
      this.lastOkStartedAt = startedAt;
      if (this.failing) this.log.info('API key change feed recovered');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err: (err as Error).message }, 'API key change feed failed; verification caches fall back to short ages');
      this.failing = true;
      return;
    }
    if (startedAt - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = startedAt;
      await this.em.execute(`delete from api_key_changes where created_at < now() - interval '${KEEP_ROWS}'`).catch(() => undefined);
    }
  }
}
