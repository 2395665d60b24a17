/**
 * An HTTP proxy in front of a real server (the emulator) that counts the requests it forwards, by
 * path: what the server behind it received, seen from the outside.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  url: string;
  /** Requests forwarded so far whose path starts with `prefix` (all when omitted). */
  count(prefix?: string): number;
  close(): Promise<void>;
}

/** `target`: the server's base URL, or a function giving it (when it is known only after the proxy is needed). */
export async function startCountingProxy(target: string | (() => string)): Promise<CountingProxy> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    const to = new URL(typeof target === 'string' ? target : target());
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: (prefix = '') => paths.filter((p) => p.startsWith(prefix)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
