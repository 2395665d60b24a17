#!/usr/bin/env node
// Prints, live, every billing event a token may see: the README's five-minute tour uses it.
//   TOKEN=<jwt> node examples/watch-events.mjs [ws://localhost:4000/graphql]
// An admin token sees every customer's events; a customer token only its own.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const url = process.argv[2] ?? process.env.GATEWAY_WS_URL ?? 'ws://localhost:4000/graphql';
const token = process.env.TOKEN ?? process.env.ADMIN;
if (!token) {
  console.error('watch-events: set TOKEN to a token (the admin token printed by `npm start`, or `npx billing-gateway token --sub <id>`)');
  process.exit(2);
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: { connected: () => console.log(`watching billing events on ${url} (Ctrl-C to stop)`) },
});

client.subscribe(
  { query: 'subscription { billingEvents { id type occurredAt customerId amount { formatted } message } }' },
  {
    next: ({ data, errors }) => {
      if (errors) console.error('error:', errors.map((e) => e.message).join('; '));
      else console.log(`${data.billingEvents.type.padEnd(22)} ${data.billingEvents.message}`);
    },
    error: (err) => {
      // A missing or forged token closes the socket with 4401 (4403 when forbidden); an expired one with 4419.
      console.error(`watch-events: ${err?.code ? `closed ${err.code} ${err.reason ?? ''}` : (err?.message ?? String(err))}`);
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);
process.once('SIGINT', () => client.dispose().then(() => process.exit(0)));
