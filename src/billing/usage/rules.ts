/**
 * Input rules of the usage ledger (see README.md in this folder): what a usage record may carry
 * before anything is looked up. Errors name the field (BAD_USER_INPUT with extensions.field).
 */
import { badUserInput } from '../../errors.js';

/** Largest quantity one record may carry: a backend that aggregates may send many units at once, but a typo of 10^12 must not bill. */
export const MAX_USAGE_QUANTITY = 1_000_000;
/** Records per `reportUsageBatch` call. */
export const MAX_USAGE_BATCH = 1_000;
/** Idempotency keys: required, 1–255 characters, not blank. */
export const MAX_USAGE_KEY_LENGTH = 255;
/** Stripe rejects meter events more than 5 minutes ahead of the customer's time; so do we. */
export const MAX_FUTURE_MS = 5 * 60_000;

export interface UsageInput {
  meter: string;
  quantity: number;
  timestamp?: Date | null;
  customerId?: string | null;
  idempotencyKey: string;
}

/** `prefix` names the record in a batch (`input[3].`); empty for a single call. */
export function checkUsageShape(input: UsageInput, prefix = ''): void {
  if (typeof input.meter !== 'string' || input.meter.trim() === '') throw badUserInput(`${prefix}meter`, 'meter is required');
  if (!Number.isInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_USAGE_QUANTITY) {
    throw badUserInput(`${prefix}quantity`, `quantity must be a whole number from 1 to ${MAX_USAGE_QUANTITY.toLocaleString('en-US')}`);
  }
  const key = input.idempotencyKey;
  if (typeof key !== 'string' || key.trim() === '' || key.length > MAX_USAGE_KEY_LENGTH) {
    throw badUserInput(`${prefix}idempotencyKey`, `idempotencyKey is required: 1-${MAX_USAGE_KEY_LENGTH} characters, not blank`);
  }
  if (input.timestamp !== undefined && input.timestamp !== null && Number.isNaN(input.timestamp.getTime())) {
    throw badUserInput(`${prefix}timestamp`, 'timestamp must be an ISO-8601 date-time');
  }
}
