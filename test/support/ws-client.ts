import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface EagerClient {
  client: Client;
  /** Resolves once the server acknowledged the connection. */
  connected: Promise<void>;
  /** Resolves with how the socket closed, once it did. */
  closed: Promise<{ code: number; reason: string }>;
}

/** A graphql-ws client that connects at once with `token`, never retries, and tells how its socket closed. */
export function connectEagerly(wsUrl: string, token: string): EagerClient {
  let onClosed!: (e: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
  let onConnected!: () => void;
  const connected = new Promise<void>((r) => (onConnected = r));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
    on: {
      connected: () => onConnected(),
      closed: (e) => {
        const { code, reason } = e as { code: number; reason: string };
        onClosed({ code, reason });
      },
    },
  });
  return { client, connected, closed };
}
