/**
 * The ledger rows of VALID answers, written behind the answers: nobody waits for them (a commit costs
 * more than a whole verification may), so they gather while the previous insert runs and for
 * `gapMs` after it, and go in one statement of the ledger's multi-row insert (reportUsage's). One
 * statement at a time. Each row's quota reservation is settled when its statement is done (committed,
 * or found in the ledger already: another replica or a restart counted that requestId).
 *
 * Rows wait in columns (the strings the verification already holds, the time as a number, the
 * reservation): no row object, Date, promise, closure or queue entry per row. They are the most numerous
 * objects of the hot path and live for a tenth of a second, long enough to be copied by a scavenge, so
 * each object less per row is GC work less. The statement (`insertUsageColumns`) answers only which
 * rows it inserted.
 *
 * A failed statement of several rows is written again row by row, so one bad row fails alone; a row
 * that fails alone is put back, tried again after 200 ms, 400 ms…, and given up after `MAX_ATTEMPTS`
 * (logged without the requestId, its units released). `drain()` waits
 * until every row is settled; only a process crash in between loses units (never counts them twice).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from '../../log.js';
import { insertUsageColumns, type UsageColumns } from '../usage/ledger.js';
import type { QuotaCounters, Reservation } from './quota-counters.js';

const MAX_ATTEMPTS = 5;
const MAX_ROWS_PER_STATEMENT = 1000;

/** Rows waiting or in one statement: the ledger's columns, plus each row's reservation and attempt. */
class Rows implements UsageColumns {
  customerIds: string[] = [];
  meters: string[] = [];
  quantities: number[] = [];
  times: number[] = [];
  keys: string[] = [];
  holds: Reservation[] = [];
  attempts: number[] = [];

  get length(): number {
    return this.keys.length;
  }

  push(customerId: string, meter: string, quantity: number, time: number, key: string, hold: Reservation, attempt: number): void {
    this.customerIds.push(customerId);
    this.meters.push(meter);
    this.quantities.push(quantity);
    this.times.push(time);
    this.keys.push(key);
    this.holds.push(hold);
    this.attempts.push(attempt);
  }

  /** Row `i` of `from`, with its attempt. */
  copy(from: Rows, i: number, attempt: number): void {
    this.push(from.customerIds[i]!, from.meters[i]!, from.quantities[i]!, from.times[i]!, from.keys[i]!, from.holds[i]!, attempt);
  }

  /** The first `n` rows, taken out of this. */
  take(n: number): Rows {
    const out = new Rows();
    out.customerIds = this.customerIds.splice(0, n);
    out.meters = this.meters.splice(0, n);
    out.quantities = this.quantities.splice(0, n);
    out.times = this.times.splice(0, n);
    out.keys = this.keys.splice(0, n);
    out.holds = this.holds.splice(0, n);
    out.attempts = this.attempts.splice(0, n);
    return out;
  }
}

export class UsageWriter {
  private rows = new Rows();
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

  /** Writes `quantity` units of `meter` for `customerId` at `time` (epoch ms) once per `idempotencyKey`, held by `hold` meanwhile. */
  add(customerId: string, meter: string, quantity: number, time: number, idempotencyKey: string, hold: Reservation): void {
    this.unsettled++;
    this.rows.push(customerId, meter, quantity, time, idempotencyKey, hold, 1);
    if (!this.busy) this.write();
  }

  /** Resolves once every row added so far is settled. */
  drain(): Promise<void> {
    return this.unsettled === 0 ? Promise.resolve() : new Promise((resolve) => this.drained.push(resolve));
  }

  private write(): void {
    if (this.rows.length === 0) {
      this.busy = false;
      return;
    }
    this.busy = true;
    let rows: Rows;
    if (this.rows.length > MAX_ROWS_PER_STATEMENT) rows = this.rows.take(MAX_ROWS_PER_STATEMENT);
    else {
      rows = this.rows;
      this.rows = new Rows();
    }
    insertUsageColumns(this.em, rows)
      .then(
        (inserted) => {
          let any = false;
          for (let i = 0; i < rows.length; i++) {
            this.quotas.settle(rows.holds[i]!, rows.quantities[i]!, inserted[i]!);
            if (inserted[i]) any = true;
            this.settled();
          }
          if (any) this.onInserted?.();
        },
        // One bad row must not hold back the others: a statement of several rows that fails is written
        // again row by row, and only a row that fails alone counts an attempt.
        (err: unknown) => (rows.length > 1 ? this.oneByOne(rows) : this.retry(rows, err)),
      )
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'settling API key usage rows failed'))
      .finally(() => setTimeout(() => this.write(), this.gapMs));
  }

  /** Each row in a statement of its own, in order; a row that fails goes to `retry` alone. */
  private async oneByOne(rows: Rows): Promise<void> {
    for (let i = 0; i < rows.length; i++) {
      const one = new Rows();
      one.copy(rows, i, rows.attempts[i]!);
      try {
        const [inserted] = await insertUsageColumns(this.em, one);
        this.quotas.settle(one.holds[0]!, one.quantities[0]!, inserted!);
        if (inserted) this.onInserted?.();
        this.settled();
      } catch (err) {
        this.retry(one, err);
      }
    }
  }

  /** Rows of a failed statement back in the queue after a delay, or given up after their last attempt. */
  private retry(rows: Rows, err: unknown): void {
    const again = new Rows();
    for (let i = 0; i < rows.length; i++) {
      if (rows.attempts[i]! >= MAX_ATTEMPTS) {
        this.quotas.settle(rows.holds[i]!, rows.quantities[i]!, false);
        this.log.error({ err: (err as Error).message, customerId: rows.customerIds[i], quantity: rows.quantities[i] }, 'API key usage could not be written to the ledger');
        this.settled();
      } else again.copy(rows, i, rows.attempts[i]! + 1);
    }
    if (again.length === 0) return;
    setTimeout(() => {
      for (let i = 0; i < again.length; i++) this.rows.copy(again, i, again.attempts[i]!);
      if (!this.busy) this.write();
    }, 200 * (again.attempts[0]! - 1));
  }

  private settled(): void {
    if (--this.unsettled === 0) for (const wake of this.drained.splice(0)) wake();
  }
}
