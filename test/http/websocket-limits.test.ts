/**
 * What one token may hold over graphql-ws, on a real gateway with real clients: sockets per token
 * subject, operations per socket, unsent bytes (a client that stops reading is closed as a slow
 * consumer, with its code, and the others go on), and nothing kept once the sockets are gone.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TOPICS, type SignalBus } from '../../src/events/index.js';
import { WS_CLOSE } from '../../src/http/graphql-ws.js';
import { eventually } from '../support/eventually.js';
import { connectEagerly } from '../support/ws-client.js';
import { billingEvent, collect, signalGatewayForFile, warmUp, type SignalGateway } from '../signals/support.js';

const PER_TOKEN = 3;
const PER_SOCKET = 2;
const PER_SOCKET_BYTES = 1024 * 1024;

const setup = signalGatewayForFile({
  env: { WS_MAX_SOCKETS_PER_TOKEN: String(PER_TOKEN), WS_MAX_SUBSCRIPTIONS_PER_SOCKET: String(PER_SOCKET), WS_MAX_BUFFERED_BYTES_PER_SOCKET: String(PER_SOCKET_BYTES) },
});
let bus: SignalBus;
let gw: SignalGateway;
beforeAll(() => ({ bus, gw } = setup));

const ALL = 'subscription { billingEvents { id type message } }';
type Ev = { id: string; type: string; message: string };

const event = (message = 'hello') => billingEvent(null, message);

const connect = (token: string) => connectEagerly(gw.wsUrl, token);

/** The gateway's count of a WebSocket limit applied, from /metrics. */
async function metric(limit: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(new RegExp(`^graphql_ws_limited_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** The server side's holdings for live sockets: all zero once every socket is gone. */
const holdings = () => ({
  sockets: gw.server.websockets.sockets,
  tokens: gw.server.websockets.tokens,
  bufferedBytes: gw.server.websockets.bufferedBytes,
  keys: gw.server.fanout.keys,
  subscribers: gw.server.fanout.subscribers,
});
const NOTHING = { sockets: 0, tokens: 0, bufferedBytes: 0, keys: 0, subscribers: 0 };

describe('WebSocket limits', () => {
  it(`lets one token subject hold ${PER_TOKEN} sockets; the next is closed with ${WS_CLOSE.tooManySockets}, other tokens are not affected`, async () => {
    const token = await gw.token('many', 'admin');
    const first = Array.from({ length: PER_TOKEN }, () => connect(token));
    await Promise.all(first.map((c) => c.connected));
    expect(gw.server.websockets.tokens).toBe(1);

    const refused = connect(token);
    expect(await refused.closed).toEqual({ code: WS_CLOSE.tooManySockets, reason: `Too many sockets for this token: the limit is ${PER_TOKEN}` });
    // The same subject with another token (a fresh one, same sub) counts against the same limit.
    const again = connect(await gw.token('many', 'admin'));
    expect((await again.closed).code).toBe(WS_CLOSE.tooManySockets);

    const other = connect(await gw.token('someone-else'));
    await other.connected;
    // Once one closes, the subject may open another.
    await first[0]!.client.dispose();
    await eventually('the closed socket to be released', () => gw.server.websockets.sockets === PER_TOKEN);
    const replacement = connect(token);
    await replacement.connected;

    expect(await metric('sockets_per_token')).toBeGreaterThanOrEqual(2);
    for (const c of [...first, refused, again, other, replacement]) await c.client.dispose();
    await eventually('every socket to be released', () => gw.server.websockets.sockets === 0);
    expect(holdings()).toEqual(NOTHING);
  });

  it(`lets one socket hold ${PER_SOCKET} subscriptions; the next one gets RATE_LIMITED and the socket goes on`, async () => {
    const token = await gw.token('subs', 'admin');
    const a = await collect<Ev>(gw.wsUrl, token, ALL, 'billingEvents');
    // Two more subscriptions on the same socket (`collect` made one).
    const values: Ev[][] = [[], []];
    const errors: unknown[][] = [[], []];
    for (const i of [0, 1]) {
      a.client.subscribe(
        { query: ALL },
        { next: (r) => values[i]!.push((r.data as { billingEvents: Ev }).billingEvents), error: (e) => errors[i]!.push(e), complete: () => {} },
      );
    }
    await eventually('one of the two to be refused', () => errors[0]!.length + errors[1]!.length === 1);
    const refused = errors[0]!.length ? 0 : 1;
    expect(errors[refused]).toEqual([
      [{ message: `Too many subscriptions on this socket: the limit is ${PER_SOCKET}`, extensions: { code: 'RATE_LIMITED', limit: 'subscriptionsPerSocket', max: PER_SOCKET } }],
    ]);
    // The socket stays open and both admitted subscriptions receive events.
    await warmUp(bus, [{ c: a }]);
    const marker = event('after the refusal');
    bus.publish(TOPICS.billingEvents, marker);
    await a.until((v) => v.id === marker.id);
    await eventually('the other admitted subscription to receive the marker', () => values[1 - refused]!.some((v) => v.id === marker.id));
    expect(values[refused]).toEqual([]);
    expect(await metric('subscriptions_per_socket')).toBeGreaterThanOrEqual(1);
    await a.dispose();
    await eventually('the socket to be released', () => gw.server.websockets.sockets === 0 && gw.server.fanout.keys === 0);
    expect(holdings()).toEqual(NOTHING);
  });

  it(`closes a socket that stops reading with ${WS_CLOSE.slowConsumer} once it holds more than its share; a reader on the same stream goes on`, async () => {
    const token = await gw.token('slow', 'admin');
    const reader = await collect<Ev>(gw.wsUrl, token, ALL, 'billingEvents');

    // A raw graphql-transport-ws client, so it can stop reading its socket.
    const slow = new WebSocket(gw.wsUrl, 'graphql-transport-ws');
    const frames: { type: string; id?: string }[] = [];
    slow.on('message', (data) => frames.push(JSON.parse(String(data)) as { type: string }));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => slow.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    await new Promise((r) => slow.once('open', r));
    slow.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await eventually('connection_ack', () => frames.some((f) => f.type === 'connection_ack'));
    slow.send(JSON.stringify({ id: 's1', type: 'subscribe', payload: { query: ALL } }));
    await warmUp(bus, [{ c: reader }]);
    const probe = event('probe for the slow one');
    bus.publish(TOPICS.billingEvents, probe);
    await eventually('the slow client to receive a first event', () => frames.some((f) => f.type === 'next'));

    slow.pause();
    // 64 KiB events until the server gives up on it: the kernel's socket buffers fill first, then the process's.
    const big = 'x'.repeat(64 * 1024);
    const closedBefore = gw.server.websockets.slowConsumersClosed;
    await eventually('the slow consumer to be closed', async () => {
      if (gw.server.websockets.slowConsumersClosed > closedBefore) return true;
      const batch = [event(big), event(big), event(big), event(big)];
      for (const e of batch) bus.publish(TOPICS.billingEvents, e);
      // The reader keeps up (it shares the stream, so it gets every event the slow one is sent).
      await reader.until((v) => v.id === batch.at(-1)!.id);
      return gw.server.websockets.slowConsumersClosed > closedBefore;
    });
    slow.resume();
    const { code, reason } = await closed;
    expect(code).toBe(WS_CLOSE.slowConsumer);
    expect(reason).toMatch(/^Slow consumer: \d+ bytes unsent, over the limit of 1048576 per socket$/);
    expect(await metric('slow_consumer')).toBeGreaterThanOrEqual(1);

    const after = event('after the slow one left');
    bus.publish(TOPICS.billingEvents, after);
    await reader.until((v) => v.id === after.id);
    expect(reader.errors).toEqual([]);
    await reader.dispose();
    await eventually('every socket to be released', () => gw.server.websockets.sockets === 0 && gw.server.fanout.keys === 0);
    expect(holdings()).toEqual(NOTHING);
  });

  it('keeps nothing of a socket once it is gone, however it went (closed cleanly or cut)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const serverSockets: WeakRef<object>[] = [];
    const onUpgrade = (_req: unknown, socket: object) => serverSockets.push(new WeakRef(socket));
    gw.server.httpServer.on('upgrade', onUpgrade);
    try {
      const tokens = await Promise.all([gw.token('gc-a'), gw.token('gc-b'), gw.token('gc-admin', 'admin')]);
      const clients = await Promise.all(
        tokens.flatMap((t) => [0, 1].map(async (k) => collect<Ev>(gw.wsUrl, t, k ? ALL : 'subscription { billingEvents(types: [PAYMENT_RECEIVED]) { id type message } }', 'billingEvents'))),
      );
      await warmUp(
        bus,
        clients.map((c, i) => ({ c, owner: ['gc-a', 'gc-b', 'gc-admin'][Math.floor(i / 2)], type: i % 2 ? undefined : ('PAYMENT_RECEIVED' as const) })),
      );
      expect(gw.server.websockets.sockets).toBe(6);
      expect(gw.server.websockets.tokens).toBe(3);
      expect(gw.server.fanout.keys).toBe(6);
      // One is cut without a close frame, the others close cleanly.
      clients[1]!.client.terminate();
      await Promise.all(clients.filter((_, i) => i !== 1).map((c) => c.dispose()));
      await eventually('every socket to be released', () => gw.server.websockets.sockets === 0 && gw.server.fanout.subscribers === 0 && gw.server.websockets.tokens === 0);
      expect(holdings()).toEqual(NOTHING);
    } finally {
      gw.server.httpServer.off('upgrade', onUpgrade);
    }
    expect(serverSockets.length).toBe(6);
    // Nothing in the gateway still refers to the sockets: the collector may take every one.
    await eventually(
      'the server-side sockets to be collected',
      () => {
        gc();
        return serverSockets.every((r) => r.deref() === undefined);
      },
    );
  });
});
