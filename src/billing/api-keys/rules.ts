/** Input rules of key management (BAD_USER_INPUT naming the field). */
import { badUserInput } from '../../errors.js';

export const MAX_KEY_NAME_LENGTH = 200;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export function checkKeyName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_KEY_NAME_LENGTH) {
    throw badUserInput('name', `name is required: 1-${MAX_KEY_NAME_LENGTH} characters, not blank`);
  }
  return name.trim();
}

export function checkIdempotencyKey(key: unknown): string | null {
  if (key === undefined || key === null) return null;
  if (typeof key !== 'string' || key.trim() === '' || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw badUserInput('idempotencyKey', `idempotencyKey must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters, not blank`);
  }
  return key;
}

export function checkExpiry(expiresAt: Date | null | undefined, now = new Date()): Date | null {
  if (expiresAt === undefined || expiresAt === null) return null;
  if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now.getTime()) throw badUserInput('expiresAt', 'expiresAt must be a date-time in the future');
  return expiresAt;
}
