import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type Stripe from 'stripe';
import type { Config } from '../../config.js';
import { CliError, commandGroup, intOption, parseUrl, printJson, printLines, type CliContext } from '../common.js';

interface AdvanceOptions {
  days: number;
  clock?: string;
  apiBase?: string;
  json?: boolean;
}

const READY_TIMEOUT_MS = 10 * 60_000;
/**
 * Stripe creates a renewal's invoice as a draft at the period end and finalises (and charges) it about an
 * hour later. A step of whole days from the day a subscription started lands exactly on its period end
 * whenever the month has that many days, which would leave the renewal a draft: every step goes this much further.
 */
export const FINALIZATION_DELAY_S = 3600;
const POLL_MS = 500;

/**
 * The clock the sandbox gateway stored in `sync_state`, when its database can be read without
 * creating one and is not held by a running gateway (PGlite); else undefined (found by name instead).
 */
async function storedClockId(config: Config): Promise<string | undefined> {
  const [{ pgliteClusterPath }, { openCliDatabase }, { closeOrm }, { readSyncState }, { STATE_TEST_CLOCK }] = await Promise.all([
    import('../../db/config.js'),
    import('../gateway.js'),
    import('../../db/orm.js'),
    import('../../db/sync-state.js'),
    import('../../stripe/sandbox.js'),
  ]);
  if (!config.databaseUrl && !existsSync(pgliteClusterPath(config.dataDir))) return undefined;
  let orm;
  try {
    orm = await openCliDatabase(config);
  } catch (err) {
    if (err instanceof CliError) return undefined; // PGlite in use by the gateway: the emulator knows the clock by its name
    throw err;
  }
  try {
    return (await readSyncState(orm.em.fork(), STATE_TEST_CLOCK)) ?? undefined;
  } finally {
    await closeOrm(orm);
  }
}

async function namedClockId(stripe: Stripe): Promise<string | undefined> {
  const { SANDBOX_TEST_CLOCK_NAME } = await import('../../stripe/sandbox.js');
  for await (const clock of stripe.testHelpers.testClocks.list({ limit: 100 })) {
    if (clock.name === SANDBOX_TEST_CLOCK_NAME && clock.status !== 'internal_failure') return clock.id;
  }
  return undefined;
}

/** Stripe advances a clock in the background: poll until it is ready (the emulator answers ready at once). */
async function whenReady(stripe: Stripe, id: string): Promise<Stripe.TestHelpers.TestClock> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const clock = await stripe.testHelpers.testClocks.retrieve(id);
    if (clock.status === 'ready') return clock;
    if (clock.status === 'internal_failure') throw new CliError(`test clock ${id} failed to advance (internal_failure)`);
    if (Date.now() > deadline) throw new CliError(`test clock ${id} is still ${clock.status} after ${READY_TIMEOUT_MS / 60_000} minutes`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export function registerClock(program: Command, ctx: CliContext): void {
  const clock = commandGroup(program, 'clock', "Move the sandbox's test clock (renewals, trials and retries happen as time passes).");

  clock
    .command('advance')
    .description(
      "Advance the sandbox gateway's test clock by N days and 1 hour (so a renewal due in those days is finalised and charged), and wait until it is ready.",
    )
    .requiredOption('--days <n>', 'days to move forward, 1-3650', intOption(1, 3650))
    .option('--clock <id>', 'another test clock (default: the one every customer the sandbox gateway creates is on)')
    .option('--api-base <url>', 'the emulator, e.g. http://127.0.0.1:12111 (default: STRIPE_API_BASE, else STRIPE_EMULATOR_PORT)', parseUrl)
    .option('--json', 'print { clock, previousFrozenTime, frozenTime, frozenAt } as JSON')
    .addHelpText(
      'after',
      '\nSandbox only (no STRIPE_SECRET_KEY). Renewal invoices, charges and their webhooks follow, as at Stripe;\n' +
        'a running gateway receives them. Works beside a running sandbox gateway, PGlite included.\n' +
        'The clock moves N days plus 1 hour: Stripe finalises a renewal invoice about an hour after the period\n' +
        'ends, so `--days 31` from the day a monthly subscription started bills its renewal in every month.',
    )
    .action(async (opts: AdvanceOptions) => {
      const [{ cliConfig }, { resolveStripeTarget }] = await Promise.all([import('../config.js'), import('../stripe-target.js')]);
      const config = cliConfig();
      if (!config.sandbox) {
        throw new CliError('clock advance: only in the sandbox; STRIPE_SECRET_KEY is set, and the gateway puts customers on a test clock only in the sandbox');
      }
      const target = await resolveStripeTarget(config, opts.apiBase);
      try {
        const id = opts.clock ?? (await storedClockId(config)) ?? (await namedClockId(target.stripe));
        if (!id) throw new CliError('clock advance: no sandbox test clock yet; start the gateway once (npm start), or pass --clock');
        const before = await whenReady(target.stripe, id);
        const frozenTime = before.frozen_time + opts.days * 86_400 + FINALIZATION_DELAY_S;
        await target.stripe.testHelpers.testClocks.advance(id, { frozen_time: frozenTime });
        const after = await whenReady(target.stripe, id);
        const frozenAt = new Date(after.frozen_time * 1000).toISOString();
        if (opts.json) printJson({ clock: id, previousFrozenTime: before.frozen_time, frozenTime: after.frozen_time, frozenAt });
        else printLines(`Test clock ${id} advanced ${opts.days} day${opts.days === 1 ? '' : 's'} + 1 hour (Stripe finalises a renewal an hour after the period ends): now ${frozenAt}`);
      } finally {
        await target.close();
      }
      ctx.outcome = 0;
    });
}
