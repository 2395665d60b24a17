/**
 * A minimal HTTP/1.1 client on plain sockets for the benches' loads: POST requests written in one piece,
 * one in flight per keep-alive connection, answers framed by Content-Length or chunked (node:http's
 * `writeHead` then `end`); an answer framed otherwise is an error. A request sent while every connection
 * is busy waits its turn, as in node:http's agent.
 *
 * Why not node:http's client or `fetch`: the load generator shares the machine's two cores with the
 * servers it measures, and what it spends is taken from them. node:http's client took about 0.2 ms of
 * CPU per request here, `fetch` (undici, web streams) 0.3–0.5 ms; this one about a tenth of a
 * millisecond.
 */
import { connect, type Socket } from 'node:net';

/** What a transport reports for one request: its status and body, or an error. */
export type Finish = (status: number, body: string) => void;
export type Fail = (err: Error) => void;

export interface RawHttpClient {
  /** POSTs `body` with the client's headers plus `extraHead` (complete `name: value\r\n` lines, or ''). */
  send(body: string, finish: Finish, fail: Fail, extraHead?: string): void;
  /** The same as a promise of the status and body. */
  post(body: string, extraHead?: string): Promise<{ status: number; body: string }>;
  close(): void;
}

/** A client for POSTs to `url` over at most `connections` keep-alive connections, each with `headers`. */
export function rawHttpClient(url: URL, headers: Record<string, string>, connections: number): RawHttpClient {
  const head = `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}`;
  type Pending = { body: string; extraHead: string; finish: Finish; fail: Fail };
  type Conn = { socket: Socket; current: Pending | null; buf: Buffer; sentAt: number };
  const idle: Conn[] = [];
  const queue: Pending[] = [];
  const all = new Set<Conn>();
  let closed = false;

  const release = (c: Conn): void => {
    const next = queue.shift();
    if (next) write(c, next);
    else idle.push(c);
  };
  const write = (c: Conn, p: Pending): void => {
    c.current = p;
    c.sentAt = performance.now();
    c.socket.write(`${head}${p.extraHead}content-length: ${Buffer.byteLength(p.body)}\r\n\r\n${p.body}`);
  };
  const drop = (c: Conn, err: Error): void => {
    if (!all.delete(c)) return;
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    c.socket.destroy();
    const p = c.current;
    c.current = null;
    p?.fail(err);
    // A request waiting for a connection gets a new one.
    const next = closed ? undefined : queue.shift();
    if (next) open(next);
  };
  const open = (p: Pending): void => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    const c: Conn = { socket, current: null, buf: Buffer.alloc(0), sentAt: 0 };
    all.add(c);
    socket.on('data', (chunk: Buffer) => {
      c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
      const end = c.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const header = c.buf.toString('latin1', 0, end);
      const framed = frame(c.buf, header, end + 4);
      if (framed === null) return; // more to come
      if (framed instanceof Error) return drop(c, framed);
      c.buf = c.buf.subarray(framed.total);
      const p = c.current;
      if (!p) return drop(c, new Error('an answer to no request'));
      c.current = null;
      p.finish(Number(header.slice(9, 12)), framed.body);
      release(c);
    });
    socket.on('error', (err) => drop(c, err));
    socket.on('close', () => drop(c, new Error('connection closed')));
    write(c, p);
  };
  // An answer that never comes is an error, not a run that never ends.
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const c of all) if (c.current && now - c.sentAt > 10_000) drop(c, new Error('no answer in 10 s'));
  }, 1000);
  watchdog.unref();
  const send: RawHttpClient['send'] = (body, finish, fail, extraHead = '') => {
    const p = { body, extraHead, finish, fail };
    const c = idle.pop();
    if (c) write(c, p);
    else if (all.size < connections) open(p);
    else queue.push(p);
  };
  return {
    send,
    post: (body, extraHead) => new Promise((resolve, reject) => send(body, (status, text) => resolve({ status, body: text }), reject, extraHead)),
    close() {
      closed = true;
      clearInterval(watchdog);
      for (const c of [...all]) {
        all.delete(c);
        c.socket.destroy();
      }
    },
  };
}

const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:\s*chunked/i;

/**
 * The answer whose head (`header`) ends at `start` in `buf`: its body and where it ends, null while
 * incomplete, an Error when it is framed neither by Content-Length nor chunked (without trailers).
 */
function frame(buf: Buffer, header: string, start: number): { body: string; total: number } | Error | null {
  const length = CONTENT_LENGTH.exec(header);
  if (length) {
    const total = start + Number(length[1]);
    return buf.length < total ? null : { body: buf.toString('utf8', start, total), total };
  }
  if (!CHUNKED.test(header)) return new Error('an answer framed neither by Content-Length nor chunked');
  const parts: Buffer[] = [];
  for (let pos = start; ; ) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) return null;
    const size = Number.parseInt(buf.toString('latin1', pos, lineEnd), 16);
    if (Number.isNaN(size)) return new Error('a malformed chunk size');
    if (size === 0) {
      if (buf.length < lineEnd + 4) return null;
      if (buf.toString('latin1', lineEnd + 2, lineEnd + 4) !== '\r\n') return new Error('chunked trailers (not expected)');
      return { body: Buffer.concat(parts).toString('utf8'), total: lineEnd + 4 };
    }
    const dataEnd = lineEnd + 2 + size;
    if (buf.length < dataEnd + 2) return null;
    parts.push(buf.subarray(lineEnd + 2, dataEnd));
    pos = dataEnd + 2;
  }
}
