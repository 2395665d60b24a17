/**
 * Probes: `/healthz` answers while the process runs; `/readyz` asks the database and Stripe
 * (functions passed in by the composition root) and names whichever failed.
 */
import type { Express } from 'express';
import type { Logger } from '../log.js';

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
