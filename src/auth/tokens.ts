/**
 * Bearer tokens as docs/api.md defines them: HS256 with AUTH_JWT_SECRET, or RS256/ES256 keys from
 * AUTH_JWKS_URL; `exp` always honoured, `iss`/`aud` when configured. Claims: `sub` (required),
 * `email` (optional), `role` "admin" | "customer" | "service" (absent: customer; a service token may only verify API keys).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config.js';
import { AppError, unauthenticated } from '../errors.js';
import { isStorableText } from '../text/storable.js';

export type Role = 'admin' | 'customer' | 'service';

export interface Viewer {
  sub: string;
  email?: string;
  role: Role;
}

export interface TokenVerifier {
  /** The viewer of a valid token; throws an UNAUTHENTICATED AppError otherwise. */
  verify(token: string): Promise<Viewer>;
  /** Parse an `Authorization` header value ("Bearer <jwt>"): null when absent, throws when malformed or invalid. */
  verifyAuthorization(header: string | undefined | null): Promise<Viewer | null>;
  /** Like `verifyAuthorization`, with the token's expiry (long-lived WebSockets close when it passes). */
  verifyAuthorizationWithExpiry(header: string | undefined | null): Promise<{ viewer: Viewer; expiresAt?: Date } | null>;
  /**
   * The viewer of an `Authorization` header value whose token verified before and is still remembered
   * (not expired), without a promise; undefined otherwise (then ask `verifyAuthorization`).
   */
  rememberedViewer?(header: string | undefined): Viewer | undefined;
}

const HMAC_ALGS = ['HS256'];
const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKEN_CACHE_SIZE = 1_000;
const JWKS_ALGS = ['RS256', 'ES256'];

export function createTokenVerifier(auth: Pick<AuthConfig, 'jwtSecret' | 'jwksUrl' | 'issuer' | 'audience'>): TokenVerifier {
  const secret = auth.jwtSecret ? new TextEncoder().encode(auth.jwtSecret) : undefined;
  const jwks = auth.jwksUrl ? createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 }) : undefined;
  if (!secret && !jwks) throw new Error('createTokenVerifier: neither jwtSecret nor jwksUrl is configured');

  const algorithms = [...(secret ? HMAC_ALGS : []), ...(jwks ? JWKS_ALGS : [])];
  // The header's alg picks the key source; `algorithms` stops a JWKS public key being used as an HMAC secret.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (HMAC_ALGS.includes(header.alg)) {
      if (!secret) throw new joseErrors.JOSEAlgNotAllowed('HS256 tokens are not accepted');
      return secret;
    }
    if (!jwks) throw new joseErrors.JOSEAlgNotAllowed(`${header.alg} tokens are not accepted`);
    return jwks(header, token);
  };

  async function verify(token: string): Promise<Viewer> {
    return (await verifyWithExpiry(token)).viewer;
  }

  // Clients send the same token with every request: a verified token is remembered for a minute (at
  // most until its exp), which saves the signature check and claim parsing per request (bench `read`).
  // Only successes are kept, so a bad token is re-checked (and rejected) every time.
  const verified = new Map<string, { result: { viewer: Viewer; expiresAt?: Date }; until: number }>();
  // The same entries by the whole header value as it came (`rememberedViewer`: no parsing, no promise on
  // the key-verification hot path). Bounded alike; an entry is only found here while it is valid.
  const byHeader = new Map<string, { result: { viewer: Viewer; expiresAt?: Date }; until: number }>();

  async function verifyWithExpiry(token: string, header?: string): Promise<{ viewer: Viewer; expiresAt?: Date }> {
    const hit = verified.get(token);
    if (hit) {
      if (Date.now() < hit.until) {
        if (header !== undefined) rememberHeader(header, hit);
        return hit.result;
      }
      verified.delete(token);
    }
    const result = await verifyUncached(token);
    const until = Math.min(Date.now() + VERIFIED_TOKEN_TTL_MS, result.expiresAt ? result.expiresAt.getTime() : Infinity);
    if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    const entry = { result, until };
    verified.set(token, entry);
    if (header !== undefined) rememberHeader(header, entry);
    return result;
  }

  function rememberHeader(header: string, entry: { result: { viewer: Viewer; expiresAt?: Date }; until: number }): void {
    if (byHeader.get(header) === entry) return;
    if (byHeader.size >= VERIFIED_TOKEN_CACHE_SIZE) byHeader.delete(byHeader.keys().next().value!);
    byHeader.set(header, entry);
  }

  async function verifyUncached(token: string): Promise<{ viewer: Viewer; expiresAt?: Date }> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: auth.issuer,
        audience: auth.audience,
        requiredClaims: ['sub'],
        clockTolerance: 5,
      }));
    } catch (err) {
      throw err instanceof joseErrors.JWTExpired ? new TokenExpiredError() : unauthenticated(describe(err));
    }
    const { sub, email, role } = payload as { sub?: unknown; email?: unknown; role?: unknown };
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw unauthenticated('Invalid token: sub must be a non-empty string');
    if (email !== undefined && typeof email !== 'string') throw unauthenticated('Invalid token: email must be a string');
    // Claims become database rows and Stripe fields: text PostgreSQL cannot hold is refused here, before either.
    if (!isStorableText(sub) || (email !== undefined && !isStorableText(email)))
      throw unauthenticated('Invalid token: sub and email may not contain U+0000 or unpaired surrogate characters');
    if (role !== undefined && role !== 'admin' && role !== 'customer' && role !== 'service')
      throw unauthenticated('Invalid token: role must be "admin", "customer" or "service"');
    const viewer: Viewer = { sub, role: role ?? 'customer', ...(email ? { email } : {}) };
    return typeof payload.exp === 'number' ? { viewer, expiresAt: new Date(payload.exp * 1000) } : { viewer };
  }

  function bearer(header: string | undefined | null): string | null {
    if (header === undefined || header === null || header.trim() === '') return null;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
    if (!m) throw unauthenticated('Malformed Authorization header: expected "Bearer <token>"');
    return m[1]!;
  }

  return {
    verify,
    async verifyAuthorization(header) {
      const token = bearer(header);
      return token === null ? null : (await verifyWithExpiry(token, header ?? undefined)).viewer;
    },
    rememberedViewer(header) {
      if (header === undefined) return undefined;
      const hit = byHeader.get(header);
      if (hit === undefined) return undefined;
      if (Date.now() < hit.until) return hit.result.viewer;
      byHeader.delete(header);
      return undefined;
    },
    async verifyAuthorizationWithExpiry(header) {
      const token = bearer(header);
      return token === null ? null : verifyWithExpiry(token);
    },
  };
}

/**
 * A genuine token (signature and claims checked) whose `exp` has passed: unlike a missing or forged
 * one, the client may come back with a fresh token (WebSockets close with a code clients retry).
 */
export class TokenExpiredError extends AppError {
  constructor() {
    super('UNAUTHENTICATED', 'Token expired');
  }
}

/** A client-safe reason: never the token, never key material. */
function describe(err: unknown): string {
  if (err instanceof AppError) return err.message;
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `Invalid token: ${err.claim} claim check failed`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'Invalid token signature';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'Invalid token: algorithm not accepted';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'Invalid token: no matching signing key';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return 'Cannot verify token: signing keys unavailable';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return 'Invalid token: malformed';
  if (err instanceof joseErrors.JOSEError) return 'Invalid token';
  return 'Cannot verify token';
}

export interface DevTokenClaims {
  sub: string;
  role?: Role;
  email?: string;
  /** jose time span ("12h", "30d") or seconds from now; default 30 days. */
  expiresIn?: string | number;
  issuer?: string;
  audience?: string;
}

/** Mint an HS256 token (CLI `token`, the start banner, tests). */
export async function signDevToken(claims: DevTokenClaims, secret: string): Promise<string> {
  const payload: Record<string, unknown> = { role: claims.role ?? 'customer' };
  if (claims.email) payload.email = claims.email;
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(typeof claims.expiresIn === 'number' ? Math.floor(Date.now() / 1000) + claims.expiresIn : (claims.expiresIn ?? '30d'));
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/**
 * Mint a token the configured verifier accepts (CLI `token`, the development start banner): HS256
 * with the configured or generated secret, carrying AUTH_ISSUER/AUTH_AUDIENCE when those are set.
 */
export async function mintToken(auth: Pick<AuthConfig, 'jwtSecret' | 'issuer' | 'audience'>, claims: Omit<DevTokenClaims, 'issuer' | 'audience'>): Promise<string> {
  if (!auth.jwtSecret) throw new Error('Cannot mint a token: no AUTH_JWT_SECRET (tokens come from your identity provider when only AUTH_JWKS_URL is set)');
  return signDevToken({ ...claims, issuer: auth.issuer, audience: auth.audience }, auth.jwtSecret);
}
