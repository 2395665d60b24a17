/**
 * What the routes served ahead of express (`/v1/keys/verify`, `POST /graphql`) share with express's
 * error handler and body-parser: the same error bodies and the same strict JSON.
 */

import type { IncomingMessage } from 'node:http';
import { readRequestBody } from '../request-body.js';

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

/** The body as UTF-8 text (`readRequestBody`), or null past `limit` bytes. */
export function readBodyText(req: IncomingMessage, limit: number, done: (text: string | null) => void): void {
  readRequestBody(req, limit, (body) => done(body === null ? null : body.toString('utf8')));
}
