/**
 * Event handling and reconciliation of the Stripe mirror. The convergence rule (how an event that may
 * come late, twice or out of order is applied) is explained at the top of `convergence.ts`.
 */
export * from './convergence.js';
export * from './handlers.js';
export * from './missed-events.js';
export * from './full.js';
export * from './periodic.js';
