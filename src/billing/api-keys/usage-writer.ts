/**
 * The ledger rows of VALID answers, written behind the answers: nobody waits for them (a commit costs
 * more than a whole verification may), so they gather while the previous insert runs and for
 * `gapMs` after it, and go in one statement of the ledger's multi-row insert (reportUsage's). One
 * statement at a time. Each row's quota reservation is settled when its statement is done (committed,
 * or found in the ledger already: another replica or a restart counted that requestId).
 *
 * Rows and their reservations wait in two arrays: no promise, closure or queue entry per row. They are
 * the most numerous objects of the hot path and live for a tenth of a second, long enough to be copied
 * by a scavenge, so each object less per row is GC work less.
 *
 * A failed statement of several rows is written again row by row, so one bad row fails alone; a row
 * that fails alone is put back, tried again after 200 ms, 400 ms…, and given up after `MAX_ATTEMPTS`
 * (logged without the requestId, its units released). `drain()` waits
 * until every row is settled; only a process crash in between loses units (never counts them twice).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from '../../log.js';
import { insertUsageRows, type NewUsageRow } from '../usage/ledger.js';
import type { QuotaCounters, Reservation } from './quota-counters.js';

const MAX_ATTEMPTS = 5;
const MAX_ROWS_PER_STATEMENT = 1000;

export class UsageWriter {
  private rows: NewUsageRow[] = [];
  private holds: Reservation[] = [];
  private attempts: number[] = [];
  /** A statement in flight, or its gap after. */
  private busy = false;
  /** Rows added and not yet settled (waiting, in flight, or waiting for a retry). */
  private unsettled = 0;
  private readonly drained: (() => void)[] = [];

  constructor(
    private readonly em: EntityManager,
    private readonly quotas: QuotaCounters,
    private readonly log: Logger,
    private readonly gapMs: number,
    private readonly onInserted?: () => void,
  ) {}

  /** Writes `row` (its units held by `hold` meanwhile). */
  add(row: NewUsageRow, hold: Reservation): void {
    this.unsettled++;
    this.queue(row, hold, 1);
  }

  /** Resolves once every row added so far is settled. */
  drain(): Promise<void> {
    return this.unsettled === 0 ? Promise.resolve() : new Promise((resolve) => this.drained.push(resolve));
  }

  private queue(row: NewUsageRow, hold: Reservation, attempt: number): void {
    this.rows.push(row);
    this.holds.push(hold);
    this.attempts.push(attempt);
    if (!this.busy) this.write();
  }

  private write(): void {
    if (this.rows.length === 0) {
      this.busy = false;
      return;
    }
    this.busy = true;
    let rows = this.rows;
    let holds = this.holds;
    let attempts = this.attempts;
    if (rows.length > MAX_ROWS_PER_STATEMENT) {
      this.rows = rows.slice(MAX_ROWS_PER_STATEMENT);
      this.holds = holds.slice(MAX_ROWS_PER_STATEMENT);
      this.attempts = attempts.slice(MAX_ROWS_PER_STATEMENT);
      rows = rows.slice(0, MAX_ROWS_PER_STATEMENT);
      holds = holds.slice(0, MAX_ROWS_PER_STATEMENT);
      attempts = attempts.slice(0, MAX_ROWS_PER_STATEMENT);
    } else {
      this.rows = [];
      this.holds = [];
      this.attempts = [];
    }
    insertUsageRows(this.em, rows)
      .then(
        (results) => {
          let inserted = false;
          const failed: number[] = [];
          for (let i = 0; i < rows.length; i++) {
            const r = results[i];
            // No row holding the pair (it vanished between the insert and the read): try that row again.
            if (!r) failed.push(i);
            else {
              this.quotas.settle(holds[i]!, rows[i]!.quantity, r.inserted);
              if (r.inserted) inserted = true;
              this.settled();
            }
          }
          if (inserted) this.onInserted?.();
          if (failed.length > 0) this.retry(rows, holds, attempts, failed, new Error('usage insert: no ledger row'));
        },
        // One bad row must not hold back the others: a statement of several rows that fails is written
        // again row by row, and only a row that fails alone counts an attempt.
        (err: unknown) => (rows.length > 1 ? this.oneByOne(rows, holds, attempts) : this.retry(rows, holds, attempts, null, err)),
      )
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'settling API key usage rows failed'))
      .finally(() => setTimeout(() => this.write(), this.gapMs));
  }

  /** Each row in a statement of its own, in order; a row that fails goes to `retry` alone. */
  private async oneByOne(rows: NewUsageRow[], holds: Reservation[], attempts: number[]): Promise<void> {
    for (let i = 0; i < rows.length; i++) {
      const one = [rows[i]!];
      try {
        const [r] = await insertUsageRows(this.em, one);
        if (!r) throw new Error('usage insert: no ledger row');
        this.quotas.settle(holds[i]!, rows[i]!.quantity, r.inserted);
        if (r.inserted) this.onInserted?.();
        this.settled();
      } catch (err) {
        this.retry(one, [holds[i]!], [attempts[i]!], null, err);
      }
    }
  }

  /** Rows of a failed statement (`which`: their indexes, null: all) back in the queue after a delay, or given up. */
  private retry(rows: NewUsageRow[], holds: Reservation[], attempts: number[], which: number[] | null, err: unknown): void {
    const again: number[] = [];
    for (let k = 0, n = which ? which.length : rows.length; k < n; k++) {
      const i = which ? which[k]! : k;
      if (attempts[i]! >= MAX_ATTEMPTS) {
        this.quotas.settle(holds[i]!, rows[i]!.quantity, false);
        this.log.error({ err: (err as Error).message, customerId: rows[i]!.customerId, quantity: rows[i]!.quantity }, 'API key usage could not be written to the ledger');
        this.settled();
      } else again.push(i);
    }
    if (again.length === 0) return;
    const delayMs = 200 * attempts[again[0]!]!;
    setTimeout(() => {
      for (const i of again) this.queue(rows[i]!, holds[i]!, attempts[i]! + 1);
    }, delayMs);
  }

  private settled(): void {
    if (--this.unsettled === 0) for (const wake of this.drained.splice(0)) wake();
  }
}
