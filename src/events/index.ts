/** Live billing signals: the bus, the topics, and the Stripe event → BillingEvent step. */
export { createSignalBus, DEFAULT_CHANNEL_PREFIX, type SignalBus, type SignalBusOptions, type SignalPubSub } from './bus.js';
export { billingEventId, deriveSignals, planOfSubscription, type SignalDraft } from './derive.js';
export { signalMessage } from './messages.js';
export { createSignals, thresholdMinor, type Signals, type SignalsDeps } from './signals.js';
export * from './topics.js';
