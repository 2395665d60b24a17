import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertCustomerInScope, authorize, resolveCustomerScope } from '../../src/auth/guard.js';
import { createTokenVerifier, signDevToken, type Viewer } from '../../src/auth/tokens.js';
import { AppError } from '../../src/graphql/errors.js';

const SECRET = 'test-secret-0123456789-0123456789-abcdef';

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

describe('HS256 tokens', () => {
  const verifier = createTokenVerifier({ jwtSecret: SECRET });

  it('accepts a good token and defaults the role to customer', async () => {
    const token = await signDevToken({ sub: 'user_1', email: 'a@example.com' }, SECRET);
    expect(await verifier.verify(token)).toEqual({ sub: 'user_1', email: 'a@example.com', role: 'customer' });
    const admin = await signDevToken({ sub: 'ops', role: 'admin' }, SECRET);
    expect(await verifier.verifyAuthorization(`Bearer ${admin}`)).toEqual({ sub: 'ops', role: 'admin' });
    const noRole = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u2').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    expect((await verifier.verify(noRole)).role).toBe('customer');
  });

  it('treats a missing header as anonymous and a malformed one as an error', async () => {
    expect(await verifier.verifyAuthorization(undefined)).toBeNull();
    expect(await verifier.verifyAuthorization('')).toBeNull();
    const err = await rejection(verifier.verifyAuthorization('Basic dXNlcjpwdw=='));
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a forged token', async () => {
    const forged = await signDevToken({ sub: 'user_1', role: 'admin' }, 'another-secret-0123456789-0123456789-xyz');
    const err = await rejection(verifier.verify(forged));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Invalid token signature');
  });

  it('rejects an expired token', async () => {
    const expired = await signDevToken({ sub: 'user_1', expiresIn: -60 }, SECRET);
    const err = await rejection(verifier.verify(expired));
    expect(err.message).toBe('Token expired');
  });

  it('remembers a verified header for the synchronous lookup, until the token expires', async () => {
    const own = createTokenVerifier({ jwtSecret: SECRET });
    const token = await signDevToken({ sub: 'svc', role: 'service', expiresIn: 30 }, SECRET);
    const header = `Bearer ${token}`;
    expect(own.rememberedViewer!(header)).toBeUndefined();
    expect(own.rememberedViewer!(undefined)).toBeUndefined();
    expect(await own.verifyAuthorization(header)).toEqual({ sub: 'svc', role: 'service' });
    expect(own.rememberedViewer!(header)).toEqual({ sub: 'svc', role: 'service' });
    // Only the header as it was verified: another spelling goes through verifyAuthorization first.
    expect(own.rememberedViewer!(`bearer  ${token}`)).toBeUndefined();
    const forged = await signDevToken({ sub: 'svc', role: 'admin' }, 'another-secret-0123456789-0123456789-xyz');
    await rejection(own.verifyAuthorization(`Bearer ${forged}`));
    expect(own.rememberedViewer!(`Bearer ${forged}`)).toBeUndefined();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 31_000);
      expect(own.rememberedViewer!(header)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a token without sub, with a bad role, or unsigned', async () => {
    const key = new TextEncoder().encode(SECRET);
    const noSub = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
    expect((await rejection(verifier.verify(noSub))).message).toMatch(/sub/);
    const badRole = await new SignJWT({ role: 'root' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').sign(key);
    expect((await rejection(verifier.verify(badRole))).message).toMatch(/role/);
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'x', role: 'admin' })).toString('base64url');
    expect((await rejection(verifier.verify(`${header}.${body}.`))).code).toBe('UNAUTHENTICATED');
    expect((await rejection(verifier.verify('not-a-jwt'))).code).toBe('UNAUTHENTICATED');
  });

  it('checks iss and aud when configured', async () => {
    const strict = createTokenVerifier({ jwtSecret: SECRET, issuer: 'https://auth.example.com', audience: 'billing' });
    const good = await signDevToken({ sub: 'u', issuer: 'https://auth.example.com', audience: 'billing' }, SECRET);
    expect((await strict.verify(good)).sub).toBe('u');
    const wrongIss = await signDevToken({ sub: 'u', issuer: 'https://evil.example.com', audience: 'billing' }, SECRET);
    expect((await rejection(strict.verify(wrongIss))).message).toBe('Invalid token: iss claim check failed');
    const wrongAud = await signDevToken({ sub: 'u', issuer: 'https://auth.example.com', audience: 'other' }, SECRET);
    expect((await rejection(strict.verify(wrongAud))).message).toBe('Invalid token: aud claim check failed');
    const none = await signDevToken({ sub: 'u' }, SECRET);
    expect((await rejection(strict.verify(none))).code).toBe('UNAUTHENTICATED');
  });
});

describe('JWKS tokens (ES256)', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('verifies a token signed by a key of the JWKS', async () => {
    const verifier = createTokenVerifier({ jwksUrl, audience: 'billing' });
    const token = await new SignJWT({ role: 'admin', email: 'ops@example.com' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('ops')
      .setAudience('billing')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await verifier.verify(token)).toEqual({ sub: 'ops', email: 'ops@example.com', role: 'admin' });
  });

  it('rejects a key outside the JWKS and HS256 when only JWKS is configured', async () => {
    const verifier = createTokenVerifier({ jwksUrl });
    const other = await generateKeyPair('ES256');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('x').setExpirationTime('5m').sign(other.privateKey);
    expect((await rejection(verifier.verify(token))).code).toBe('UNAUTHENTICATED');
    const hs = await signDevToken({ sub: 'x', role: 'admin' }, SECRET);
    expect((await rejection(verifier.verify(hs))).code).toBe('UNAUTHENTICATED');
  });
});

describe('customer scope guard', () => {
  const customer: Viewer = { sub: 'user_1', role: 'customer' };
  const admin: Viewer = { sub: 'ops', role: 'admin' };

  it('gives a customer its own customer and forbids others', () => {
    expect(resolveCustomerScope({ viewer: customer }).ref).toEqual({ kind: 'externalId', externalId: 'user_1' });
    expect(resolveCustomerScope({ viewer: customer }, 'user_1').ref).toEqual({ kind: 'externalId', externalId: 'user_1' });
    expect(() => resolveCustomerScope({ viewer: customer }, 'user_2')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    const scope = resolveCustomerScope({ viewer: customer }, 'cus_abc');
    expect(assertCustomerInScope(scope, { externalId: 'user_1' })).toEqual({ externalId: 'user_1' });
    expect(() => assertCustomerInScope(scope, { externalId: 'user_2' })).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => assertCustomerInScope(scope, null)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  });

  it('lets an admin name any customer', () => {
    expect(resolveCustomerScope({ viewer: admin }, 'cus_abc').ref).toEqual({ kind: 'stripeId', id: 'cus_abc' });
    expect(resolveCustomerScope({ viewer: admin }, 'user_2').ref).toEqual({ kind: 'externalId', externalId: 'user_2' });
    expect(assertCustomerInScope(resolveCustomerScope({ viewer: admin }, 'cus_x'), null)).toBeNull();
  });

  it('is UNAUTHENTICATED without a viewer, with the rejection reason when a token was sent', () => {
    expect(() => resolveCustomerScope({ viewer: null })).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    const reason = new AppError('UNAUTHENTICATED', 'Token expired');
    expect(() => resolveCustomerScope({ viewer: null, error: reason })).toThrow('Token expired');
  });
});

describe('authorize (what @Authorized roles check)', () => {
  const as = (role: Viewer['role']) => ({ viewer: { sub: 'x', role } });
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return [(e as AppError).code, (e as AppError).message];
    }
    return null;
  };

  it('lets in the listed roles, and a public field anyone without a token', () => {
    expect(authorize(as('admin'), ['admin'])).toEqual({ sub: 'x', role: 'admin' });
    expect(authorize(as('customer'), ['customer', 'admin'])).toEqual({ sub: 'x', role: 'customer' });
    expect(authorize(as('service'), ['service', 'admin'])).toEqual({ sub: 'x', role: 'service' });
    expect(authorize({ viewer: null, error: new AppError('UNAUTHENTICATED', 'Token expired') }, ['anonymous', 'customer', 'admin'])).toBeNull();
  });

  it('refuses the others with the message naming what was missing', () => {
    expect(refusal(() => authorize(as('customer'), ['admin']))).toEqual(['FORBIDDEN', 'Admin token required']);
    expect(refusal(() => authorize(as('service'), ['admin']))).toEqual(['FORBIDDEN', 'A service token may only verify API keys']);
    expect(refusal(() => authorize(as('service'), ['anonymous', 'customer', 'admin']))).toEqual(['FORBIDDEN', 'A service token may only verify API keys']);
    expect(refusal(() => authorize(as('customer'), ['service', 'admin']))).toEqual(['FORBIDDEN', 'Verifying API keys needs a service or admin token']);
    expect(refusal(() => authorize({ viewer: null }, ['customer', 'admin']))?.[0]).toBe('UNAUTHENTICATED');
    expect(refusal(() => authorize({ viewer: null, error: new AppError('UNAUTHENTICATED', 'Token expired') }, ['admin']))).toEqual(['UNAUTHENTICATED', 'Token expired']);
  });
});

describe('mintToken', () => {
  it('mints a token the configured verifier accepts, with iss and aud', async () => {
    const auth = { jwtSecret: SECRET, issuer: 'https://auth.example.com', audience: 'billing' };
    const { mintToken } = await import('../../src/auth/tokens.js');
    const token = await mintToken(auth, { sub: 'ops', role: 'admin' });
    expect(await createTokenVerifier(auth).verify(token)).toEqual({ sub: 'ops', role: 'admin' });
    await expect(mintToken({ jwtSecret: undefined }, { sub: 'x' })).rejects.toThrow(/AUTH_JWT_SECRET/);
  });
});
