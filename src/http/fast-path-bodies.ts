/**
 * What the routes served ahead of express (`/v1/keys/verify`, `POST /graphql`) share with express's
 * error handler and body-parser: the same error bodies and the same strict JSON.
 */

import type { IncomingMessage } from 'node:http';

export const JSON_TYPE = 'application/json; charset=utf-8';

/** The gateway's error handler's bodies (server.ts `errorBody`), as `res.json` writes them. */
export const errorJson = (message: string, code: string, extensions: Record<string, unknown> = {}) =>
  JSON.stringify({ errors: [{ message, extensions: { ...extensions, code } }] });
export const MALFORMED = errorJson('Malformed JSON request body', 'BAD_REQUEST');
export const INTERNAL = errorJson('Internal server error', 'INTERNAL_SERVER_ERROR');

/** What `parseStrictJson` answers for a body body-parser would refuse. */
export const NOT_JSON = Symbol('malformed');

/** body-parser's strict JSON: '' is `{}`, a BOM is dropped, the first character must open an object or array. */
export function parseStrictJson(text: string): unknown {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (s.length === 0) return {};
  const c = s[0] === '{' || s[0] === '[' ? s[0] : s.trimStart()[0];
  if (c !== '{' && c !== '[') return NOT_JSON;
  try {
    return JSON.parse(s);
  } catch {
    return NOT_JSON;
  }
}

/**
 * Reads the body as UTF-8 text, keeping at most `limit` bytes; `done(null)` when it (or its declared
 * length) is over the limit. As body-parser, it reads to the end either way, so the connection can
 * carry the next request.
 */
export function readBodyText(req: IncomingMessage, limit: number, done: (text: string | null) => void): void {
  const declared = req.headers['content-length'] === undefined ? 0 : Number(req.headers['content-length']);
  let size = 0;
  let over = declared > limit;
  let first: Buffer | null = null;
  let rest: Buffer[] | null = null;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) over = true;
    if (over) return;
    if (first === null) first = chunk;
    else (rest ??= [first]).push(chunk);
  });
  req.on('end', () => done(over ? null : rest ? Buffer.concat(rest).toString('utf8') : first ? (first as Buffer).toString('utf8') : ''));
}
