/**
 * What every process that processes Stripe events runs after each one, inside its transaction: the
 * billing signals (stored once, published on the bus: Redis when REDIS_URL is set, so `serve` replicas
 * deliver them live), then dunning (a process that handles invoice events must open and close cases
 * too). `serve`, the `webhook` sidecar and `sync` all build it here, so none of them forgets a step.
 */
import { configuredNotifiers, createDunning, type Dunning } from '../billing/dunning/index.js';
import type { Config } from '../config.js';
import { logger as rootLogger, type Logger } from '../log.js';
import { chainAfterEvents, type AfterEventHook } from '../stripe/webhooks/after-event.js';
import { createSignalBus, type SignalBus } from './bus.js';
import { createSignals } from '../billing/signals/signals.js';

export interface EventHooks {
  bus: SignalBus;
  dunning: Dunning;
  /** Signals then dunning; the chain keeps the signals' batch hooks the worker uses. */
  afterEvent: AfterEventHook;
  /** Dunning's pending notifications, then the bus. */
  close(): Promise<void>;
}

export function createEventHooks(config: Config, log: Logger = rootLogger): EventHooks {
  const bus = createSignalBus({ redisUrl: config.redisUrl, log });
  const signals = createSignals({ bus, config, log });
  const dunning = createDunning({ schedule: config.dunning.schedule, signals, notifiers: configuredNotifiers(config.dunning, log), log });
  return {
    bus,
    dunning,
    afterEvent: chainAfterEvents(signals.afterEvent, dunning.afterEvent),
    close: async () => {
      await dunning.close();
      await bus.close();
    },
  };
}
