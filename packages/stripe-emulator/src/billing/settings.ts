import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import type { Router } from '../http/router.js';
import type { Stored } from '../store.js';

/**
 * The account's dunning settings (Stripe keeps these in the Dashboard: retry schedule, and what
 * happens to the subscription when all retries fail). Persisted with the rest of the state.
 */
export interface BillingSettings {
  /** Retries after a failed renewal payment, each N days after the previous attempt. */
  retry_days: number[];
  /** After the last retry fails: cancel the subscription (default), mark it unpaid, or leave it past_due. */
  after_retries: 'cancel' | 'unpaid' | 'past_due';
  /** `invoice.upcoming` is sent this many days before a renewal (Dashboard: "upcoming renewal events"); 0 = never. */
  upcoming_days: number;
}

const KIND = 'emulator.billing_settings';
const DEFAULTS: BillingSettings = { retry_days: [3, 5, 7], after_retries: 'cancel', upcoming_days: 3 };

export function billingSettings(emu: Emulator): BillingSettings {
  const s = emu.store.get<BillingSettings & Stored>(KIND, 'settings');
  return s
    ? { retry_days: s.retry_days, after_retries: s.after_retries, upcoming_days: s.upcoming_days ?? DEFAULTS.upcoming_days }
    : { ...DEFAULTS, retry_days: [...DEFAULTS.retry_days] };
}

/** `upcoming_days` alone, without copying the settings (asked for every subscription the engine plans). */
export function upcomingDays(emu: Emulator): number {
  return emu.store.get<BillingSettings & Stored>(KIND, 'settings')?.upcoming_days ?? DEFAULTS.upcoming_days;
}

export function setBillingSettings(emu: Emulator, patch: Partial<BillingSettings>): BillingSettings {
  const next = { ...billingSettings(emu), ...patch };
  emu.store.insert(KIND, { id: 'settings', ...next });
  return next;
}

/**
 * `POST /_emulator/billing/settings` with `retry_days[]=3&retry_days[]=5&after_retries=unpaid&upcoming_days=7`
 * (form or JSON); `GET` shows them. No API key needed, like the other `/_emulator` controls.
 */
export function registerSettingsRoutes(router: Router, emu: Emulator): void {
  router.get('/_emulator/billing/settings', () => billingSettings(emu), { auth: false });
  router.post(
    '/_emulator/billing/settings',
    ({ params: p }) => {
      const after = p.enum('after_retries', ['cancel', 'unpaid', 'past_due'] as const);
      const upcoming = p.int('upcoming_days', { min: 0, max: 60 });
      let days: number[] | undefined;
      if (p.has('retry_days')) {
        const raw = p.raw['retry_days'];
        const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw ? Object.values(raw) : [raw];
        p.strings('retry_days');
        days = list.map((d) => Number(d));
        if (days.some((d) => !Number.isInteger(d) || d < 1 || d > 60)) {
          throw invalidRequest('retry_days must be whole days between 1 and 60', 'retry_days');
        }
      }
      p.done();
      return setBillingSettings(emu, {
        ...(after ? { after_retries: after } : {}),
        ...(days ? { retry_days: days } : {}),
        ...(upcoming !== undefined ? { upcoming_days: upcoming } : {}),
      });
    },
    { auth: false },
  );
}
