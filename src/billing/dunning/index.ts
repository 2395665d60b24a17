/** Dunning: failed payments escalate on a configurable schedule (README.md). */
export * from './case-state.js';
export * from './close-settled.js';
export * from './dunning.js';
export * from './log-notifier.js';
export * from './notification.js';
export * from './open-or-advance.js';
export * from './run-due-steps.js';
export * from '../../dunning-schedule.js';
export * from './ticker.js';
export * from './webhook-notifier.js';
export * from './notifiers.js';
export * from './metrics.js';
