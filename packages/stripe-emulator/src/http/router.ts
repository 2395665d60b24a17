import type { IncomingHttpHeaders } from 'node:http';
import type { Emulator } from '../emulator.js';
import type { Params } from './params.js';

export interface RouteContext {
  emu: Emulator;
  /** Query and body parameters together (Stripe sends GET/DELETE params in the query, POST in the body). */
  params: Params;
  /** Path parameters (`:id`). */
  path: Record<string, string>;
  method: string;
  /** The request path without the query string. */
  url: string;
  headers: IncomingHttpHeaders;
}

export type Handler = (ctx: RouteContext) => unknown | Promise<unknown>;

/** A non-JSON response (hosted pages, PDFs, redirects). */
export class RawResponse {
  constructor(
    readonly status: number,
    readonly contentType: string,
    readonly body: string | Buffer,
    readonly headers: Record<string, string> = {},
  ) {}
}

export interface RouteOptions {
  /** Stripe API routes need a secret key; hosted pages and `/_emulator` controls do not. */
  auth?: boolean;
}

interface Route {
  method: string;
  /** The literal start of the path (up to the first `:param`): checked before the regex. */
  prefix: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
  options: Required<RouteOptions>;
}

export interface Match {
  handler: Handler;
  path: Record<string, string>;
  options: Required<RouteOptions>;
}

/** Method + path-pattern routing (`/v1/customers/:id`); first registered match wins. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler, options: RouteOptions = {}): void {
    const names: string[] = [];
    const pattern = new RegExp(
      '^' +
        path.replace(/[.]/g, '\\.').replace(/:([a-zA-Z_]+)/g, (_, name: string) => {
          names.push(name);
          return '([^/]+)';
        }) +
        '/?$',
    );
    const prefix = path.split(':', 1)[0]!;
    this.routes.push({ method, prefix, pattern, names, handler, options: { auth: options.auth ?? path.startsWith('/v1/') } });
  }

  get(path: string, handler: Handler, options?: RouteOptions): void {
    this.add('GET', path, handler, options);
  }
  post(path: string, handler: Handler, options?: RouteOptions): void {
    this.add('POST', path, handler, options);
  }
  delete(path: string, handler: Handler, options?: RouteOptions): void {
    this.add('DELETE', path, handler, options);
  }

  match(method: string, url: string): Match | undefined {
    for (const r of this.routes) {
      if (r.method !== method || !url.startsWith(r.prefix)) continue;
      const m = r.pattern.exec(url);
      if (!m) continue;
      const path: Record<string, string> = {};
      r.names.forEach((name, i) => (path[name] = decodeURIComponent(m[i + 1]!)));
      return { handler: r.handler, path, options: r.options };
    }
    return undefined;
  }

  /** Whether any method is routed at this path (for 405-vs-404 decisions). */
  knows(url: string): boolean {
    return this.routes.some((r) => r.pattern.test(url));
  }
}
