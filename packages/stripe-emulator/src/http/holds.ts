/**
 * Test control, in process only: stop one API request at a chosen point so a test can act on the
 * client in between (e.g. kill the process that sent it). `before`: the request is held before it is
 * executed (`drop` discards it: nothing happens at "Stripe"); `after`: it was executed and its result
 * stored under its idempotency key, and the response is held (`drop` closes the connection without it).
 */
export type HoldPhase = 'before' | 'after';
export type HoldRelease = 'continue' | 'drop';

export interface HeldRequest {
  method: string;
  url: string;
  /** `after` only: the response body. */
  body?: unknown;
}

export interface HoldSpec {
  method: string;
  /** The request path (without the query), matched exactly or by the pattern. */
  path: string | RegExp;
  phase: HoldPhase;
}

export interface Hold {
  /** Resolves when a matching request reached the point (the first one only). */
  reached: Promise<HeldRequest>;
  release(how?: HoldRelease): void;
}

interface Pending {
  spec: HoldSpec;
  reach: (r: HeldRequest) => void;
  released: Promise<HoldRelease>;
}

export class RequestHolds {
  private pending: Pending[] = [];

  hold(spec: HoldSpec): Hold {
    let reach!: (r: HeldRequest) => void;
    let release!: (how: HoldRelease) => void;
    const reached = new Promise<HeldRequest>((r) => (reach = r));
    const released = new Promise<HoldRelease>((r) => (release = r));
    this.pending.push({ spec, reach, released });
    return { reached, release: (how = 'continue') => release(how) };
  }

  /** For the server: null when nothing holds this request here, else what to do once released. */
  take(phase: HoldPhase, req: HeldRequest): Promise<HoldRelease> | null {
    const i = this.pending.findIndex(
      ({ spec }) => spec.phase === phase && spec.method === req.method && (typeof spec.path === 'string' ? spec.path === req.url : spec.path.test(req.url)),
    );
    if (i < 0) return null;
    const [p] = this.pending.splice(i, 1);
    p!.reach(req);
    return p!.released;
  }
}
