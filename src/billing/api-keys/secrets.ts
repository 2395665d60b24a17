/**
 * Key secrets: `bg_live_` / `bg_test_` followed by 32 base62 characters (≈190 random bits). The fixed
 * prefix lets secret scanners (GitHub's, gitleaks) recognise a leaked key, and says whether it belongs
 * to live Stripe or the sandbox. Only the SHA-256 of the whole secret is stored: a fast hash is enough
 * for a high-entropy random secret (nothing to brute-force), and it keeps the hot path one hash.
 */
import { hash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_CHARS = 32;
/** Characters of the secret shown as `ApiKey.prefix` (the mode prefix and 4 random characters). */
const DISPLAY_CHARS = 12;

function base62(length: number): string {
  // Rejection sampling keeps every character uniform (bytes ≥ 248 would favour the first 8 letters).
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function keyModePrefix(sandbox: boolean): string {
  return sandbox ? 'bg_test_' : 'bg_live_';
}

export interface NewSecret {
  secret: string;
  hash: string;
  prefix: string;
}

export function newSecret(sandbox: boolean): NewSecret {
  const secret = keyModePrefix(sandbox) + base62(SECRET_CHARS);
  return { secret, hash: hashSecret(secret), prefix: secret.slice(0, DISPLAY_CHARS) };
}

const WELL_FORMED = new RegExp(`^bg_(live|test)_[0-9A-Za-z]{${SECRET_CHARS}}$`);

/** Whether `secret` has the shape `newSecret` gives every key: anything else cannot be a key (no lookup needed). */
export function isWellFormedSecret(secret: string): boolean {
  return WELL_FORMED.test(secret);
}

export function hashSecret(secret: string): string {
  // One-shot: no Hash object per verification.
  return hash('sha256', secret, 'hex');
}

/** `key_` + 20 base62 characters: an id that is not the secret and says nothing about it. */
export function newKeyId(): string {
  return `key_${base62(20)}`;
}

