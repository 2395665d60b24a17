import type { Emulator, FaultSpec } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import type { Router } from '../http/router.js';

/** Test controls outside Stripe's API (no key needed): reset state and inject faults. */
export function registerControls(router: Router, emu: Emulator): void {
  router.get('/_emulator/health', () => ({ status: 'ok' }), { auth: false });

  router.post(
    '/_emulator/reset',
    ({ params: p }) => {
      p.done();
      emu.store.clear();
      return { reset: true };
    },
    { auth: false },
  );

  /** Body: `{ status: 429|500|503, count?: N, rate?: 0..1, pathPrefix?: "/v1/…" }`, or `{}` to clear. */
  router.post(
    '/_emulator/faults',
    ({ params: p }) => {
      const raw = p.raw as Partial<FaultSpec> & Record<string, unknown>;
      for (const key of Object.keys(raw)) p.string(key) ?? p.int(key);
      if (raw.status === undefined) {
        emu.faults = null;
        return { faults: null };
      }
      const status = Number(raw.status);
      if (![429, 500, 503].includes(status)) throw invalidRequest('status must be 429, 500 or 503', 'status');
      const spec: FaultSpec = {
        status: status as FaultSpec['status'],
        ...(raw.count !== undefined ? { count: Number(raw.count) } : {}),
        ...(raw.rate !== undefined ? { rate: Number(raw.rate) } : {}),
        ...(raw.pathPrefix !== undefined ? { pathPrefix: String(raw.pathPrefix) } : {}),
      };
      emu.faults = spec;
      return { faults: spec };
    },
    { auth: false },
  );
}
