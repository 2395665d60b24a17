import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError, invalidRequest, resourceMissing } from '../errors.js';
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
 * `/v1/test_helpers/test_clocks`. Advancing runs the hooks in `emu.clockAdvanceHooks` (billing walks
 * time forward inside them) with the clock `advancing`, then sets it `ready`.
 *
 * Unlike Stripe, where `advance` returns at once and the clock is polled until `ready`, the emulator
 * answers after the hooks finished, with the clock already `ready`: SDK users can go on immediately
 * (polling code works unchanged). `test_helpers.test_clock.advancing` and `.ready` are emitted as at Stripe.
 */
export function registerTestClocks(router: Router, emu: Emulator): void {
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

  router.post('/v1/test_helpers/test_clocks/:id/advance', async ({ params: p, path }) => {
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
    try {
      for (const hook of emu.clockAdvanceHooks) await hook(clock, from, to);
    } catch (err) {
      clock.status = 'internal_failure';
      clock.status_details = {};
      emu.store.changed();
      emu.events.emit('test_helpers.test_clock.internal_failure', clock);
      if (err instanceof StripeError) throw err;
      process.emitWarning(`emulator: test clock advance failed: ${(err as Error).message}`);
      throw new StripeError(500, { type: 'api_error', message: 'The test clock could not advance (internal failure).' });
    }
    clock.frozen_time = to;
    clock.status = 'ready';
    clock.status_details = {};
    emu.store.changed();
    emu.events.emit('test_helpers.test_clock.ready', clock);
    return clock;
  });
}
