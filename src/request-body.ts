/**
 * A request's body read straight from node:http (the routes that skip express's body parsers):
 * at most `limit` bytes kept, the declared length checked first. As body-parser, it reads to the end
 * either way, so the connection can carry the next request.
 */
import type { IncomingMessage } from 'node:http';

/** Calls `done` with the body, or with null when it (or its declared length) is over `limit`; `failed` if the stream errors. */
export function readRequestBody(req: IncomingMessage, limit: number, done: (body: Buffer | null) => void, failed?: (err: Error) => void): void {
  const declared = Number(req.headers['content-length']);
  let over = Number.isFinite(declared) && declared > limit;
  let size = 0;
  let first: Buffer | null = null;
  let rest: Buffer[] | null = null;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > limit) {
      over = true;
      first = rest = null;
    } else if (first === null) first = chunk;
    else (rest ??= [first]).push(chunk);
  });
  req.on('end', () => done(over ? null : rest ? Buffer.concat(rest, size) : (first ?? Buffer.alloc(0))));
  if (failed) req.on('error', failed);
}
