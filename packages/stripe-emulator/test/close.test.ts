import { createHook } from 'node:async_hooks';
import { Agent } from 'node:http';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../src/index.js';
import { Receiver } from './support.js';

/** The process's ref'd timers, servers and sockets by kind (what keeps a process from exiting). */
function activeHandles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'Timeout' || kind.startsWith('TCP')) out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/**
 * Timers and sockets created while tracking and not yet destroyed, unref'd ones included
 * (`getActiveResourcesInfo` does not list an unref'd timer, and the emulator's timers are unref'd).
 */
function trackHandles(): { live: () => string[]; stop: () => void } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout' && type !== 'TCPWRAP' && type !== 'TCPSERVERWRAP') return;
      // Node's own cache of the HTTP Date header (one unref'd 1 s timer per process) is not ours,
      // nor are the test runner's timers.
      const stack = new Error().stack ?? '';
      if (stack.includes('utcDate') || /node_modules\/(vitest|@vitest)\//.test(stack)) return;
      live.set(id, type);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { live: () => [...live.values()], stop: () => hook.disable() };
}

/** Lets closed handles finish closing (libuv closes them on the next loop turns). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('close()', () => {
  it('leaves no timer, server or socket behind: billing timer, webhook deliveries and retries included', async () => {
    const receiver = await Receiver.start();
    await settle();
    const before = activeHandles();
    const tracked = trackHandles();

    const emu = await startEmulator({ port: 0, forwardTo: receiver.url, webhookRetry: { retryBaseMs: 60_000, maxAttempts: 3 } });
    const agent = new Agent({ keepAlive: true });
    const stripe = new Stripe('sk_test_close', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0, httpAgent: agent });
    // One delivery answered (a pooled keep-alive connection), one refused and left waiting for its retry.
    await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['product.created'] });
    receiver.respond = (_r, i) => (i === 0 ? 200 : 500);
    await stripe.products.create({ name: 'Close me' });
    await receiver.waitFor(2);
    await new Promise<void>((resolve) => {
      const check = (): void => (emu.emulator.webhooks.attempts().length >= 2 ? resolve() : void setImmediate(check));
      check();
    });
    expect(emu.emulator.webhooks.attempts().map((a) => a.ok).sort()).toEqual([false, true]);
    // Running: the billing interval, the retry timer, the server and connections.
    expect(tracked.live().filter((t) => t === 'Timeout').length).toBeGreaterThanOrEqual(2);
    expect(tracked.live()).toContain('TCPSERVERWRAP');

    await emu.close();
    agent.destroy();
    await receiver.close();
    await settle();
    tracked.stop();
    expect(tracked.live()).toEqual([]);
    // No more ref'd handles of any kind than before it started (the receiver's server is gone too).
    const after = activeHandles();
    for (const [kind, n] of Object.entries(after)) expect({ kind, n }).toEqual({ kind, n: Math.min(n, before[kind] ?? 0) });
    // Closing twice is harmless.
    await emu.close();
  });
});
