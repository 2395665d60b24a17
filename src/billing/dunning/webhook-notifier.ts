/**
 * The optional outgoing webhook (DUNNING_WEBHOOK_URL): each notification POSTed as JSON, signed like
 * Stripe signs its webhooks: `Billing-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>" with DUNNING_WEBHOOK_SECRET>`. A receiver recomputes it over the raw body and
 * rejects old timestamps (replays).
 *
 * Deliveries go out one at a time, in order (a receiver sees reminder before warning); a non-2xx
 * answer or a network error is retried with exponential backoff (1 s, 2 s, 4 s, … up to `maxAttempts`),
 * then given up with a log line. It all runs after the dunning transaction committed and never
 * rejects: a failing receiver neither blocks nor rolls back dunning. Retries live in this process
 * (a restart drops a pending delivery; the step's BillingEvent is stored either way).
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '../../log.js';
import { dunningMetrics } from './metrics.js';
import type { DunningNotification, DunningNotifier } from './notification.js';

export const SIGNATURE_HEADER = 'Billing-Gateway-Signature';

/** The signature header's value for `body` at unix time `t`. */
export function signatureHeaderValue(secret: string, body: string, t: number): string {
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

export interface WebhookNotifierOptions {
  url: string;
  secret: string;
  log: Logger;
  /** Attempts per notification, the first included (default 6). */
  maxAttempts?: number;
  /** First retry delay, doubled each time (default 1000 ms). */
  retryBaseMs?: number;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
}

export function webhookNotifier(opts: WebhookNotifierOptions): DunningNotifier {
  const maxAttempts = opts.maxAttempts ?? 6;
  const retryBaseMs = opts.retryBaseMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const stop = new AbortController();
  let chain: Promise<void> = Promise.resolve();

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stop.signal.removeEventListener('abort', done);
        resolve();
      }
      stop.signal.addEventListener('abort', done);
    });

  async function deliver(n: DunningNotification): Promise<void> {
    const body = JSON.stringify(n);
    let reason = '';
    for (let attempt = 1; attempt <= maxAttempts && !stop.signal.aborted; attempt++) {
      try {
        const res = await fetch(opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'billing-gateway-dunning',
            [SIGNATURE_HEADER]: signatureHeaderValue(opts.secret, body, Math.floor(Date.now() / 1000)),
          },
          body,
          signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          dunningMetrics.notifications.inc({ outcome: 'delivered' });
          return;
        }
        reason = `HTTP ${res.status}`;
      } catch (err) {
        reason = (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
      }
      if (attempt < maxAttempts) {
        dunningMetrics.notifications.inc({ outcome: 'retried' });
        opts.log.warn({ notificationId: n.id, attempt, reason }, 'dunning webhook delivery failed; will retry');
        await wait(retryBaseMs * 2 ** (attempt - 1));
      }
    }
    dunningMetrics.notifications.inc({ outcome: 'given_up' });
    opts.log.error({ notificationId: n.id, reason }, 'dunning webhook delivery given up');
  }

  return {
    name: 'webhook',
    notify(n) {
      const run = chain.then(() => deliver(n)).catch(() => undefined);
      chain = run;
      return run;
    },
    async close() {
      stop.abort();
      await chain;
    },
  };
}
