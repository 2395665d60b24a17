import type { Emulator, FaultSpec } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import { parseChaos } from '../webhooks/chaos.js';
import type { Router } from '../http/router.js';

/** Test controls outside Stripe's API (no key needed): reset state and inject faults. */
export function registerControls(router: Router, emu: Emulator): void {
  router.get('/_emulator/health', () => ({ status: 'ok' }), { auth: false });

  router.post(
    '/_emulator/reset',
    ({ params: p }) => {
      p.done();
      emu.store.clear();
      emu.webhooks.reset();
      emu.faults = null;
      return { reset: true };
    },
    { auth: false },
  );

  /**
   * Body (JSON or form): `{ status: 429|500|503, count?: N, rate?: 0..1, pathPrefix?: "/v1/…", retryAfter?: seconds }`
   * (`retryAfter`: a `Retry-After` header on injected 429s), or `{}` to clear.
   */
  router.post(
    '/_emulator/faults',
    ({ params: p }) => {
      const raw = p.raw;
      for (const key of Object.keys(raw)) {
        if (!['status', 'count', 'rate', 'pathPrefix', 'retryAfter'].includes(key)) throw invalidRequest(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
      }
      if (raw.status === undefined) {
        emu.faults = null;
        return { faults: null };
      }
      const status = Number(raw.status);
      if (![429, 500, 503].includes(status)) throw invalidRequest('status must be 429, 500 or 503', 'status');
      const count = raw.count === undefined ? undefined : Number(raw.count);
      if (count !== undefined && !(Number.isInteger(count) && count >= 0)) throw invalidRequest('count must be a non-negative integer', 'count');
      const rate = raw.rate === undefined ? undefined : Number(raw.rate);
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw invalidRequest('rate must be between 0 and 1', 'rate');
      if (raw.pathPrefix !== undefined && typeof raw.pathPrefix !== 'string') throw invalidRequest('pathPrefix must be a string', 'pathPrefix');
      const retryAfter = raw.retryAfter === undefined ? undefined : Number(raw.retryAfter);
      if (retryAfter !== undefined && !(Number.isInteger(retryAfter) && retryAfter >= 0 && retryAfter <= 3600)) {
        throw invalidRequest('retryAfter must be an integer number of seconds 0-3600', 'retryAfter');
      }
      const spec: FaultSpec = {
        status: status as FaultSpec['status'],
        ...(count !== undefined ? { count } : {}),
        ...(rate !== undefined ? { rate } : {}),
        ...(raw.pathPrefix !== undefined ? { pathPrefix: raw.pathPrefix as string } : {}),
        ...(retryAfter !== undefined ? { retryAfter } : {}),
      };
      emu.faults = spec;
      return { faults: spec };
    },
    { auth: false },
  );

  /**
   * Chaos delivery. Body (JSON): `{ duplicate?: 0..1, reorder?: boolean | window, delayMs?: [min, max],
   * hold?: boolean, seed?: n }`; `{}` turns it off. Answers the settings now in force.
   */
  router.post(
    '/_emulator/chaos',
    ({ params: p }) => {
      const spec = parseChaos(p.raw);
      emu.webhooks.setChaos(spec);
      return { chaos: emu.webhooks.chaos, held: emu.webhooks.heldCount };
    },
    { auth: false },
  );

  router.get('/_emulator/chaos', () => ({ chaos: emu.webhooks.chaos, held: emu.webhooks.heldCount }), { auth: false });

  /** Delivers the events held back by `hold`. */
  router.post(
    '/_emulator/chaos/release',
    ({ params: p }) => {
      p.done();
      return { released: emu.webhooks.release() };
    },
    { auth: false },
  );

  /**
   * Delivery attempts, oldest first; filters `event`, `endpoint`, `type`. `wait=true` first waits until
   * nothing is queued, in flight or waiting for a retry (at most `wait_ms`, default 30 s; held events do not count).
   */
  router.get(
    '/_emulator/deliveries',
    async ({ params: p }) => {
      const event = p.string('event');
      const endpoint = p.string('endpoint');
      const type = p.string('type');
      const wait = p.bool('wait');
      const waitMs = p.int('wait_ms', { min: 0, max: 600_000 }) ?? 30_000;
      p.done();
      if (wait) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([emu.webhooks.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
        clearTimeout(timer);
      }
      const data = emu.webhooks.attempts({ event, endpoint, type });
      return { object: 'list', data, has_more: false, url: '/_emulator/deliveries' };
    },
    { auth: false },
  );
}
