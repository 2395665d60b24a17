import { z } from 'zod';
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
   * Body (JSON or form): `{ status: 429|500|503, count: N | rate: 0..1, pathPrefix?: "/v1/…", retryAfter?: seconds }`
   * (`retryAfter`: a `Retry-After` header on injected 429s), or `{}` to clear. Anything the faults would
   * not act on (no status, neither or both of count and rate, retryAfter without 429) is refused with a 400.
   */
  router.post(
    '/_emulator/faults',
    ({ params: p }) => {
      if (Object.keys(p.raw).length === 0) {
        emu.faults = null;
        return { faults: null };
      }
      const parsed = faultSpecSchema.safeParse(p.raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        if (issue.code === 'unrecognized_keys') throw invalidRequest(`Received unknown parameter: ${issue.keys[0]}`, issue.keys[0], 'parameter_unknown');
        throw invalidRequest(issue.message, issue.path.length ? String(issue.path[0]) : undefined);
      }
      emu.faults = parsed.data;
      return { faults: parsed.data };
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

/** A number from JSON, or its decimal text from a form body, checked by `inner`; `message` for anything else. */
const numeric = <T>(inner: z.ZodType<T, number>, message: string) =>
  z.union([z.number(), z.string().trim().regex(/^-?\d+(\.\d+)?$/).transform(Number)], { error: message }).pipe(inner);

const STATUS = 'status must be 429, 500 or 503';
const COUNT = 'count must be a non-negative integer';
const RATE = 'rate must be between 0 and 1';
const RETRY_AFTER = 'retryAfter must be an integer number of seconds 0-3600';

const faultSpecSchema: z.ZodType<FaultSpec> = z
  .strictObject({
    status: numeric(z.union([z.literal(429), z.literal(500), z.literal(503)], { error: STATUS }), STATUS).optional(),
    count: numeric(z.number().int(COUNT).min(0, COUNT), COUNT).optional(),
    rate: numeric(z.number().min(0, RATE).max(1, RATE), RATE).optional(),
    pathPrefix: z.string('pathPrefix must be a string').startsWith('/', 'pathPrefix must start with /').optional(),
    retryAfter: numeric(z.number().int(RETRY_AFTER).min(0, RETRY_AFTER).max(3600, RETRY_AFTER), RETRY_AFTER).optional(),
  })
  .superRefine((f, ctx) => {
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (f.status === undefined) fail('status', 'status is required (429, 500 or 503); send {} to clear all faults');
    else if (f.count === undefined && f.rate === undefined) fail('count', 'count (the next N requests) or rate (a share of requests, 0-1) is required');
    else if (f.count !== undefined && f.rate !== undefined) fail('rate', 'give count or rate, not both');
    else if (f.retryAfter !== undefined && f.status !== 429) fail('retryAfter', 'retryAfter applies to status 429 only');
  })
  .transform((f) => f as FaultSpec);
