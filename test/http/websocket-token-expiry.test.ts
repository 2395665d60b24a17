/**
 * Token expiry over graphql-ws with the standard client (graphql-ws `createClient`, `connectionParams`
 * as a function, retries on) against a real gateway: an expired token closes with a code the client
 * retries, so it reconnects with a fresh token and its subscription goes on; a missing or forged
 * token stays fatal (4401: the client never tries again).
 */
import { createClient, type Client } from 'graphql-ws';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/tokens.js';
import { TOPICS, type SignalBus } from '../../src/events/index.js';
import { WS_CLOSE } from '../../src/http/graphql-ws.js';
import { eventually } from '../support/eventually.js';
import { billingEvent, signalGatewayForFile, TEST_SECRET, type SignalGateway } from '../signals/support.js';

const setup = signalGatewayForFile();
let bus: SignalBus;
let gw: SignalGateway;
beforeAll(() => ({ bus, gw } = setup));

const event = (owner: string) => billingEvent(owner);

/**
 * A dashboard as graphql-ws users write one: `connectionParams` fetches a token on every (re)connect,
 * the client retries (at once here, instead of its randomised back-off), one live subscription.
 */
function dashboard(nextToken: () => Promise<string | undefined>) {
  const tokensUsed: (string | undefined)[] = [];
  const closes: { code: number; reason: string }[] = [];
  const ids: string[] = [];
  const errors: unknown[] = [];
  let connections = 0;
  const client: Client = createClient({
    url: gw.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 5,
    retryWait: async () => undefined,
    connectionParams: async () => {
      const token = await nextToken();
      tokensUsed.push(token);
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    on: {
      connected: () => connections++,
      closed: (e) => {
        const { code, reason } = e as { code: number; reason: string };
        closes.push({ code, reason });
      },
    },
  });
  client.subscribe(
    { query: 'subscription { billingEvents { id } }' },
    { next: (r) => ids.push((r.data as { billingEvents: { id: string } }).billingEvents.id), error: (e) => errors.push(e), complete: () => {} },
  );
  return { client, tokensUsed, closes, ids, errors, connections: () => connections };
}

/** Publishes events for `owner` until the dashboard has received one of them (its subscription is live). */
async function receivesEvents(d: ReturnType<typeof dashboard>, owner: string): Promise<void> {
  const sent = new Set<string>();
  await eventually('an event to arrive', () => {
    const e = event(owner);
    sent.add(e.id);
    bus.publish(TOPICS.billingEvents, e);
    return d.ids.some((id) => sent.has(id));
  });
}

describe('graphql-ws token expiry', () => {
  it(`closes a socket whose token expires with ${WS_CLOSE.tokenExpired}; the standard client reconnects with a fresh token and keeps receiving events`, async () => {
    let minted = 0;
    // The first token expires a second or two after it is minted (exp is whole seconds); the next ones last.
    const d = dashboard(async () => signDevToken({ sub: 'dash', expiresIn: minted++ === 0 ? 2 : 3600 }, TEST_SECRET));
    try {
      await receivesEvents(d, 'dash');
      expect(d.connections()).toBe(1);

      await eventually('the first token to expire and the socket to close', () => d.closes.length > 0);
      expect(d.closes[0]).toEqual({ code: WS_CLOSE.tokenExpired, reason: 'Token expired' });
      await eventually('the client to reconnect', () => d.connections() === 2);
      expect(d.tokensUsed).toHaveLength(2);
      expect(d.tokensUsed[1]).not.toBe(d.tokensUsed[0]);

      // The subscription was sent again on the new socket: events keep coming, and nothing reached the error sink.
      const before = d.ids.length;
      await receivesEvents(d, 'dash');
      expect(d.ids.length).toBeGreaterThan(before);
      expect(d.errors).toEqual([]);
    } finally {
      await d.client.dispose();
    }
  });

  it(`a token already expired when the socket opens also gets ${WS_CLOSE.tokenExpired}, and the client's next token gets in`, async () => {
    let minted = 0;
    const d = dashboard(async () => signDevToken({ sub: 'late', expiresIn: minted++ === 0 ? -60 : 3600 }, TEST_SECRET));
    try {
      await receivesEvents(d, 'late');
      expect(d.closes).toEqual([{ code: WS_CLOSE.tokenExpired, reason: 'Token expired' }]);
      expect(d.tokensUsed).toHaveLength(2);
      expect(d.errors).toEqual([]);
    } finally {
      await d.client.dispose();
    }
  });

  const forged = signDevToken({ sub: 'dash', role: 'admin' }, 'not-the-gateway-secret-0123456789-abcdefgh');
  it.each([
    ['a missing token', async () => undefined],
    ['a forged token', () => forged],
    ['a malformed token', async () => 'not.a.jwt'],
  ])(`%s stays fatal: ${WS_CLOSE.unauthorized}, and the client does not try again`, async (_name, token) => {
    const d = dashboard(token);
    try {
      await eventually('the error to reach the subscriber', () => d.errors.length > 0);
      expect((d.errors[0] as { code: number }).code).toBe(WS_CLOSE.unauthorized);
      expect(d.closes.map((c) => c.code)).toEqual([WS_CLOSE.unauthorized]);
      expect(d.tokensUsed).toHaveLength(1);
      expect(d.connections()).toBe(0);
    } finally {
      await d.client.dispose();
    }
  });
});
