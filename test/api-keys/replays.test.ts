/**
 * The requestId replays' columns: an answer comes back as it was given (every shape of rate limit and
 * quota), not after it expired, and the oldest goes first once the log is full.
 */
import { expect, it } from 'vitest';
import { ReplayLog } from '../../src/billing/api-keys/replays.js';
import { VERIFICATION_CODES, type VerificationView } from '../../src/billing/api-keys/verify-api-key.js';

const base = { keyId: 'key_1', customerId: 'cus_1', externalId: 'ext_1', plan: 'pro_monthly' };
const ANSWERS: VerificationView[] = [
  { valid: true, code: 'VALID', ...base, rateLimit: { limit: 600, remaining: 12, resetAt: new Date(1_800_000_000_123) }, quota: { limit: 10_000, used: 17, remaining: 9_983, resetAt: new Date(1_800_100_000_000) } },
  { valid: true, code: 'VALID', ...base, rateLimit: null, quota: { limit: null, used: 5, remaining: null, resetAt: new Date(1_800_100_000_000) } },
  { valid: false, code: 'RATE_LIMITED', ...base, rateLimit: { limit: 60, remaining: 0, resetAt: new Date(1_800_000_000_999) }, quota: null },
  { valid: false, code: 'QUOTA_EXCEEDED', ...base, rateLimit: null, quota: { limit: 100, used: 100, remaining: 0, resetAt: new Date(1_800_100_000_000) } },
  { valid: false, code: 'NO_SUBSCRIPTION', keyId: 'key_2', customerId: 'cus_2', externalId: null, plan: null, rateLimit: null, quota: null },
  { valid: false, code: 'REVOKED', keyId: 'key_3', customerId: 'cus_3', externalId: null, plan: null, rateLimit: null, quota: null },
];

it('gives back each answer as it was given, until it expires', () => {
  const log = new ReplayLog(100, VERIFICATION_CODES);
  ANSWERS.forEach((a, i) => log.set(`r${i}`, a, 1_000 + i));
  ANSWERS.forEach((a, i) => expect(log.get(`r${i}`, 999)).toEqual(a));
  expect(log.get('r0', 1_000)).toBeUndefined();
  expect(log.get('r5', 1_004)).toEqual(ANSWERS[5]);
  expect(log.get('unknown', 0)).toBeUndefined();
});

it('keeps at most maxEntries, dropping the oldest, across the columns growing', () => {
  const max = 3_000;
  const log = new ReplayLog(max, VERIFICATION_CODES);
  const n = max + 1_234;
  for (let i = 0; i < n; i++) log.set(`r${i}`, { ...ANSWERS[i % ANSWERS.length]!, keyId: `key_${i}` }, 10_000);
  expect(log.size).toBe(max);
  expect(log.get('r0', 0)).toBeUndefined();
  expect(log.get(`r${n - max - 1}`, 0)).toBeUndefined();
  for (const i of [n - max, n - max + 1, 2_999, 3_000, n - 1]) expect(log.get(`r${i}`, 0)).toEqual({ ...ANSWERS[i % ANSWERS.length]!, keyId: `key_${i}` });
});

it('a requestId remembered again answers with its newest answer, and stays when its old slot is reused', () => {
  const log = new ReplayLog(1_024, VERIFICATION_CODES);
  log.set('same', ANSWERS[2]!, 5);
  log.set('same', ANSWERS[0]!, 50);
  expect(log.get('same', 10)).toEqual(ANSWERS[0]);
  // Around the ring once: slot 0 (the first 'same') is reused by another id; 'same' (slot 1) is still there.
  for (let i = 0; i < 1_022; i++) log.set(`x${i}`, ANSWERS[4]!, 50);
  log.set('other', ANSWERS[5]!, 50);
  expect(log.get('same', 10)).toEqual(ANSWERS[0]);
  expect(log.get('other', 10)).toEqual(ANSWERS[5]);
});
