/**
 * Probes: `/healthz` answers while the process runs; `/readyz` runs the readiness checks the
 * composition root passes in (the database answers, every migration is applied, the sync is not
 * stuck, Stripe answers) and names whichever failed.
 */
import type { Express } from 'express';
import { MIGRATIONS_TABLE } from '../db/config.js';
import { migrationsList } from '../db/migrations/index.js';
import type { Orm } from '../db/orm.js';
import type { Logger } from '../log.js';
import { readEventsSyncRun } from '../stripe/sync/missed-events.js';

/** Resolves (with anything but `false`) when the dependency answers; rejects or returns false otherwise. */
export type ReadinessCheck = () => Promise<unknown>;

const CHECK_TIMEOUT_MS = 3000;

async function run(check: ReadinessCheck): Promise<{ ok: true } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    const result = await Promise.race([check(), timeout]);
    return result === false ? { ok: false, error: new Error('check returned false') } : { ok: true };
  } catch (error) {
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

export function mountHealthRoutes(app: Express, checks: Record<string, ReadinessCheck>, log: Logger, isShuttingDown: () => boolean = () => false): void {
  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    if (isShuttingDown()) {
      res.status(503).json({ status: 'shutting_down', failed: [] });
      return;
    }
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((n) => run(checks[n]!)));
    const status: Record<string, 'ok' | 'failed'> = {};
    const failed: string[] = [];
    results.forEach((r, i) => {
      const name = names[i]!;
      status[name] = r.ok ? 'ok' : 'failed';
      if (!r.ok) {
        failed.push(name);
        // The reason goes to the log only; the probe answer names the dependency, nothing more.
        log.warn({ check: name, reason: r.error instanceof Error ? r.error.message : String(r.error) }, 'readiness check failed');
      }
    });
    res.status(failed.length ? 503 : 200).json(failed.length ? { status: 'unavailable', failed, checks: status } : { status: 'ready', checks: status });
  });
}

/**
 * Every migration this build knows is recorded as applied. Read with plain SQL (the migrator would
 * create its table): a database that exists but has no tables, or lacks a migration, is not ready.
 */
export function migrationsCheck(orm: Orm): ReadinessCheck {
  return async () => {
    const rows = await orm.em.getConnection().execute<{ name: string }[]>(`select "name" from "${MIGRATIONS_TABLE}"`);
    // Names are recorded with or without an extension, depending on the MikroORM version that ran them.
    const applied = new Set(rows.map((r) => r.name.replace(/\.[jt]s$/, '')));
    const missing = migrationsList.filter((m) => !applied.has(m.name)).map((m) => m.name);
    if (missing.length > 0) throw new Error(`migrations not applied: ${missing.join(', ')}`);
  };
}

export interface SyncReadiness {
  /** An event due for processing longer than this is stuck (seconds; 0 turns the sync check off). */
  stuckSeconds: number;
  /** This many failed events syncs in a row is stuck. */
  stuckFailures: number;
}

export const DEFAULT_SYNC_READINESS: SyncReadiness = { stuckSeconds: 900, stuckFailures: 3 };

/**
 * The sync is stuck when the events sync (events.list) failed `stuckFailures` times in a row, or the
 * oldest inbox event due for processing has waited more than `stuckSeconds` (events in their retry
 * backoff are not due; parked events are out of the queue by design, so neither stalls it).
 */
export function syncCheck(orm: Orm, readiness: SyncReadiness = DEFAULT_SYNC_READINESS): ReadinessCheck {
  return async () => {
    if (readiness.stuckSeconds === 0) return;
    const run = await readEventsSyncRun(orm.em);
    if (run && !run.ok && run.consecutiveFailures >= readiness.stuckFailures) {
      throw new Error(`events sync failed ${run.consecutiveFailures} times in a row: ${run.error ?? 'unknown reason'}`);
    }
    const [oldest] = await orm.em.getConnection().execute<{ waited: number | string | null }[]>(
      `select extract(epoch from now() - min(case when "status" = 'pending' then "next_attempt_at" else "locked_until" end))::float8 as waited
         from "webhook_events"
        where ("status" = 'pending' and "next_attempt_at" <= now()) or ("status" = 'processing' and "locked_until" < now())`,
    );
    const waited = oldest?.waited === null || oldest?.waited === undefined ? 0 : Number(oldest.waited);
    if (waited > readiness.stuckSeconds) throw new Error(`the oldest webhook event due for processing has waited ${Math.round(waited)} s`);
  };
}
