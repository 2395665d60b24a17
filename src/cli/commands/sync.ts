import type { Command } from 'commander';
import type Stripe from 'stripe';
import type { FirstPages } from '../../stripe/sync/list-ahead.js';
import type { EventHooks } from '../../workers.js';
import { logger } from '../../log.js';
import { writeOut } from '../in-gateway.js';
import type { FullSyncReport, MissedEventsReport } from '../../stripe/sync/index.js';
import { printJson, parseUrl, type CliContext } from '../common.js';

interface SyncOptions {
  full?: boolean;
  json?: boolean;
  apiBase?: string;
}

function printDrift(report: FullSyncReport): void {
  const { customers, subscriptions, invoices } = report.checked;
  writeOut(`Checked ${customers} customers, ${subscriptions} subscriptions, ${invoices} invoices.\n`);
  for (const f of report.failed) writeOut(`  skipped ${f.table.padEnd(13)} ${f.id}: ${f.reason}\n`);
  if (report.drift.length === 0) {
    writeOut(report.failed.length ? 'No drift in the objects checked.\n' : 'No drift: the mirror matches Stripe.\n');
    return;
  }
  writeOut(`Drift in ${report.drift.length} row(s)${report.repaired ? ', repaired' : ''}:\n`);
  for (const d of report.drift) {
    writeOut(`  ${d.table.padEnd(13)} ${d.id.padEnd(28)} ${d.kind}${d.fields.length ? ` [${d.fields.join(', ')}]` : ''}\n`);
  }
}

function printMissed(report: MissedEventsReport): void {
  writeOut(
    `Events: ${report.listed} listed since the last sync, ${report.missed} missed by webhooks, ` +
      `${report.processed} processed${report.failed ? `, ${report.failed} failed` : ''}.\n`,
  );
  // Parked events stay in the inbox: the admin query parkedWebhookEvents lists them, retryParkedWebhookEvent retries one.
  for (const p of report.parked) writeOut(`  parked ${p.id} ${p.type}: ${p.reason}\n`);
}

/** Two events reports of one run as one (the cursor from the first's start to the last's end). */
function addMissed(a: MissedEventsReport, b: MissedEventsReport): MissedEventsReport {
  return {
    listed: a.listed + b.listed,
    missed: a.missed + b.missed,
    ignored: a.ignored + b.ignored,
    processed: a.processed + b.processed,
    failed: a.failed + b.failed,
    parked: [...a.parked, ...b.parked],
    cursorBefore: a.cursorBefore,
    cursorAfter: b.cursorAfter,
    cursorReset: a.cursorReset || b.cursorReset,
  };
}

export function registerSync(program: Command, ctx: CliContext): void {
  program
    .command('sync')
    .description('Reconcile the mirror with Stripe: process events missed since the last sync; --full re-reads every object.')
    .option('--full', 're-read customers, subscriptions (all statuses) and invoices, repair the mirror and print the drift')
    .option('--json', 'print the report as JSON')
    .option('--api-base <url>', 'Stripe API base, e.g. an emulator at http://127.0.0.1:12111 (default: STRIPE_API_BASE)', parseUrl)
    .action(async (opts: SyncOptions) => {
      // Where the command's time goes (logged at debug level: LOG_LEVEL=debug): each step's end, in ms since the process started.
      const steps: Record<string, number> = { loaded: Math.round(performance.now()) };
      const step = (name: string) => (steps[name] = Math.round(performance.now()));
      // What reaches Stripe first, so its first calls go out while the database modules load and the
      // database opens; the rest after.
      const [{ cliConfig }, { loadCatalog }, { createProgress }, { resolveStripeTarget }, { listFirstPages, listMrrEvents }] = await Promise.all([
        import('../config.js'),
        import('../../catalog.js'),
        import('../progress.js'),
        import('../stripe-target.js'),
        import('../../stripe/sync/list-ahead.js'),
      ]);
      const config = cliConfig();
      const catalog = loadCatalog(config.billingCatalog);
      const targetReady = resolveStripeTarget(config, opts.apiBase);
      void targetReady.catch(() => undefined); // awaited after the database opens (its error is the one reported first)
      // --full: the newest event (the events cursor, when the lists are the truth: asked before they
      // start), the subscription events of the revenue history, and, once the newest event is in, the
      // lists' first pages (unused, 3 calls, when a live cursor has its events caught up first).
      const early = opts.full
        ? targetReady.then((t) => {
            const newest = t.stripe.events.list({ limit: 1 });
            return { newest, mrrEvents: listMrrEvents(t.stripe), firstPages: newest.then(() => listFirstPages(t.stripe)) };
          })
        : undefined;
      // Observed where they are used; not left unhandled when the command fails before.
      void early?.then(
        (e) => Promise.all([e.newest, e.mrrEvents, e.firstPages]).catch(() => undefined),
        () => undefined,
      );
      step('stripe');
      // Loading a module graph holds the event loop: a turn of it between the graphs lets those calls
      // go out and their answers come in while the next one loads.
      const ioTurn = () => new Promise((resolve) => setTimeout(resolve, 0));
      await ioTurn();
      const [{ closeOrm }, { openCliDatabase }] = await Promise.all([import('../../db/orm.js'), import('../gateway.js')]);
      // The database opens (connection, migrations check) while the sync's own modules load.
      const opening = openCliDatabase(config);
      void opening.catch(() => undefined); // awaited below
      await ioTurn();
      const [sync, { fullSyncEventsStart }] = await Promise.all([import('../../stripe/sync/index.js'), import('../../stripe/sync/backfill.js')]);
      step('imported');
      let orm: Awaited<ReturnType<typeof openCliDatabase>>;
      try {
        orm = await opening;
      } catch (err) {
        void targetReady.then((t) => t.close()).catch(() => undefined);
        throw err;
      }
      step('database');
      const tty = !opts.json && !!process.stderr.isTTY;
      let target: Awaited<ReturnType<typeof resolveStripeTarget>> | undefined;
      // The signals and dunning of each processed event, as `serve` runs them; loaded only when there are events to process.
      let hooks: Promise<EventHooks> | undefined;
      const eventHooks = () => (hooks ??= import('../../workers.js').then(({ createEventHooks }) => createEventHooks(config)));
      try {
        target = await targetReady;
        step('target');
        const runFull = async (mrrEvents: Promise<Stripe.Event[]>, firstPages?: FirstPages) => {
          const bar = createProgress('Objects ', tty);
          const totals = { customers: 0, subscriptions: 0, invoices: 0 };
          const done = { customers: 0, subscriptions: 0, invoices: 0 };
          try {
            return await sync.syncFull({
              orm,
              stripe: target!.stripe,
              catalog,
              mrrEvents,
              ...(firstPages ? { firstPages } : {}),
              onProgress: (p) => {
                totals[p.table] = p.total;
                done[p.table] = p.done;
                const sum = (o: typeof totals) => o.customers + o.subscriptions + o.invoices;
                bar.update(sum(done), Math.max(sum(totals), 1), p.table);
              },
            });
          } finally {
            bar.stop();
          }
        };
        const eventsBar = createProgress('Events  ', tty);
        const catchUp = async () =>
          sync.syncMissedEvents({
            orm,
            stripe: target!.stripe,
            catalog,
            loadAfterEvent: async () => (await eventHooks()).afterEvent,
            onProgress: (p) => eventsBar.update(p.done, Math.max(p.total, 1), p.phase),
          });
        let missed: MissedEventsReport;
        let full: FullSyncReport | undefined;
        if (opts.full) {
          // Events before the listing add nothing the lists do not show, except their signals: they
          // are caught up from a cursor that still exists; with none (a new mirror) or one older than
          // Stripe's event retention, the lists are the truth and only the events after their start
          // are processed (what changed while listing).
          const { newest, mrrEvents, firstPages } = await early!;
          const listingStart = await fullSyncEventsStart(orm, target.stripe, { newest });
          step('eventsStart');
          try {
            const before = listingStart.replay ? await catchUp() : null;
            step('eventsBefore');
            full = await runFull(mrrEvents, listingStart.replay ? undefined : await firstPages);
            step('full');
            const after = await catchUp();
            step('eventsAfter');
            missed = before ? addMissed(before, after) : after;
          } finally {
            eventsBar.stop();
          }
        } else {
          try {
            missed = await catchUp();
          } finally {
            eventsBar.stop();
          }
        }
        if (opts.json) printJson({ events: missed, ...(full ? { full } : {}) });
        else {
          printMissed(missed);
          if (full) printDrift(full);
        }
        // Exit 1 when something was left behind (parked or skipped, each with its reason); the rest went through.
        ctx.outcome = missed.failed > 0 || (full?.failed.length ?? 0) > 0 ? 1 : 0;
      } finally {
        await (await hooks?.catch(() => undefined))?.close();
        await target?.close();
        await closeOrm(orm);
        step('closed');
        logger.debug({ module: 'sync', steps }, 'sync: steps (ms since the process started)');
      }
    });
}
