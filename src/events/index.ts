/** The live-signal bus and its topics; what is published on it is derived in src/billing/signals. */
export { createSignalBus, DEFAULT_CHANNEL_PREFIX, type SignalBus, type SignalBusOptions, type SignalPubSub } from './bus.js';
export * from './topics.js';
