import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { deleteCustomer, type CustomerRecord } from './customers.js';

export type TestClockRecord = Stripe.TestHelpers.TestClock & Stored;

const KIND = 'test_helpers.test_clock';
/** Stripe deletes a test clock 30 days after its creation. */
const LIFETIME_S = 30 * 24 * 3600;

export function requireTestClock(emu: Emulator, id: string, param = 'id'): TestClockRecord {
  const clock = emu.store.get<TestClockRecord>(KIND, id);
  if (!clock) throw resourceMissing('test_helpers.test_clock', id, param);
  return clock;
}

/**
 * `/v1/test_helpers/test_clocks`. As at Stripe, `advance` answers at once with the clock `advancing`
 * (`test_helpers.test_clock.advancing`); then the hooks in `emu.clockAdvanceHooks` run (billing walks
 * time forward inside them, each event stamped on the clock's time) and the clock becomes `ready`
 * (`test_helpers.test_clock.ready`). Callers poll `retrieve` until `ready`.
 */
export function registerTestClocks(router: Router, emu: Emulator): void {
  const inFlight = new Set<Promise<void>>();
  router.post('/v1/test_helpers/test_clocks', ({ params: p }) => {
    const frozenTime = p.int('frozen_time', { min: 0, required: true });
    const name = p.string('name');
    const customer = p.string('customer');
    p.done();
    if (name !== undefined && name.length > 300) throw invalidRequest('name must be at most 300 characters.', 'name', 'parameter_invalid');
    if (customer) throw invalidRequest('Creating a test clock for an existing customer is not supported by the emulator.', 'customer');
    const now = emu.realNow();
    const clock: TestClockRecord = {
      id: newId('clock', 24),
      object: 'test_helpers.test_clock',
      created: now,
      deletes_after: now + LIFETIME_S,
      frozen_time: frozenTime,
      livemode: false,
      name: name ?? null,
      status: 'ready',
      status_details: {},
    };
    emu.store.insert(KIND, clock);
    emu.events.emit('test_helpers.test_clock.created', clock);
    return clock;
  });

  router.get('/v1/test_helpers/test_clocks/:id', ({ params: p, path }) => {
    p.done();
    return requireTestClock(emu, path.id!);
  });

  router.get('/v1/test_helpers/test_clocks', ({ params: p, url }) => {
    const page = paginate(newestFirst(emu.store.all<TestClockRecord>(KIND)), p, url);
    p.done();
    return page;
  });

  router.delete('/v1/test_helpers/test_clocks/:id', ({ params: p, path }) => {
    p.done();
    const clock = requireTestClock(emu, path.id!);
    if (clock.status === 'advancing') throw invalidRequest('The test clock is advancing; wait until it is ready to delete it.', 'id');
    // As at Stripe, the clock's customers (and with them their subscriptions) go with it.
    for (const customer of emu.store.all<CustomerRecord>('customer')) {
      if (customer.test_clock === clock.id && !(customer as { deleted?: boolean }).deleted) deleteCustomer(emu, customer);
    }
    emu.store.delete(KIND, clock.id);
    emu.events.emit('test_helpers.test_clock.deleted', clock);
    return { id: clock.id, object: 'test_helpers.test_clock', deleted: true };
  });

  router.post('/v1/test_helpers/test_clocks/:id/advance', ({ params: p, path }) => {
    const clock = requireTestClock(emu, path.id!);
    const to = p.int('frozen_time', { min: 0, required: true });
    p.done();
    if (clock.status === 'advancing') {
      throw invalidRequest('The test clock is already advancing; wait until it is ready.', 'frozen_time');
    }
    const from = clock.frozen_time;
    if (to <= from) {
      throw invalidRequest(`The frozen_time must be after the test clock's current frozen_time (${from}).`, 'frozen_time', 'parameter_invalid');
    }
    clock.status = 'advancing';
    clock.status_details = { advancing: { target_frozen_time: to } };
    emu.store.changed();
    emu.events.emit('test_helpers.test_clock.advancing', clock);
    const answer = structuredClone(clock);
    // As at Stripe, the time passes after the answer: the caller polls until `ready`.
    const run = new Promise<void>((resolve) => setImmediate(resolve)).then(() => advance(emu, clock, from, to));
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
    return answer;
  });

  // Closing waits for advances under way, so the state written out is never half a billing run.
  emu.onClose(async () => {
    await Promise.all([...inFlight]);
  });
}

/** Runs the clock's billing from `from` to `to`, then sets it `ready` (or `internal_failure`, reported as a warning). */
async function advance(emu: Emulator, clock: TestClockRecord, from: number, to: number): Promise<void> {
  try {
    for (const hook of emu.clockAdvanceHooks) await hook(clock, from, to);
  } catch (err) {
    clock.status = 'internal_failure';
    clock.status_details = {};
    emu.store.changed();
    emu.events.emit('test_helpers.test_clock.internal_failure', clock);
    process.emitWarning(`emulator: test clock advance failed: ${(err as Error).message}`);
    return;
  }
  clock.frozen_time = to;
  clock.status = 'ready';
  clock.status_details = {};
  emu.store.changed();
  emu.events.emit('test_helpers.test_clock.ready', clock);
}
