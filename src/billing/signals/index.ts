/** Billing signals: each processed Stripe event → stored BillingEvents, published on the bus (src/events) after commit. */
export { billingEventId, deriveSignals, planOfSubscription, type SignalDraft } from './derive.js';
export { signalMessage, signedMoney } from './messages.js';
export { createSignals, thresholdMinor, type Signals, type SignalsDeps } from './signals.js';
