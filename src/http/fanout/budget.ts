/**
 * The memory live-event sockets may hold: bytes sent but not yet read by the client (ws keeps them
 * in the process, `bufferedAmount`). Without a bound, clients that never read grow the process
 * without end. Each socket may hold up to `perSocket`; while all of them together stay within
 * `total`, that is all. When they pass `total`, every socket above its fair share (`total` / sockets)
 * is a slow consumer: it is let go (`evict`, which closes it), so the total falls back within
 * `total` and the sockets that keep up are never touched. No I/O here; 0 disables a limit.
 */
export interface BufferedSocket {
  readonly bufferedAmount: number;
}

export interface BufferBudgetOptions<S extends BufferedSocket> {
  total: number;
  perSocket: number;
  /** The socket is no longer tracked; the caller closes it (`reason` is short enough for a close frame). */
  evict(socket: S, reason: string): void;
}

export interface BufferBudget<S extends BufferedSocket> {
  add(socket: S): void;
  /** Forgets the socket (it closed); idempotent. */
  delete(socket: S): void;
  /**
   * Before sending to `socket`: false when it must not be sent to (untracked: closing or evicted just now).
   * Checks this socket's bytes, and when the sum passes `total`, all sockets' (O(sockets), only then).
   */
  admit(socket: S): boolean;
  readonly sockets: number;
  /** Sum of the tracked sockets' unsent bytes, as last seen. */
  readonly bufferedBytes: number;
}

export function createBufferBudget<S extends BufferedSocket>(opts: BufferBudgetOptions<S>): BufferBudget<S> {
  // Last seen bufferedAmount per socket. A socket drains without telling us, so the sum may run
  // high between looks; it is recounted exactly before anyone is evicted for it.
  const seen = new Map<S, number>();
  let sum = 0;

  const evict = (socket: S, reason: string) => {
    sum -= seen.get(socket) ?? 0;
    seen.delete(socket);
    opts.evict(socket, reason);
  };

  const recount = () => {
    sum = 0;
    for (const s of seen.keys()) {
      const b = s.bufferedAmount;
      seen.set(s, b);
      sum += b;
    }
  };

  return {
    add(socket) {
      if (seen.has(socket)) return;
      const b = socket.bufferedAmount;
      seen.set(socket, b);
      sum += b;
    },
    delete(socket) {
      sum -= seen.get(socket) ?? 0;
      seen.delete(socket);
    },
    admit(socket) {
      const last = seen.get(socket);
      if (last === undefined) return false;
      const b = socket.bufferedAmount;
      sum += b - last;
      seen.set(socket, b);
      if (opts.perSocket > 0 && b > opts.perSocket) {
        evict(socket, `Slow consumer: ${b} bytes unsent, over the limit of ${opts.perSocket} per socket`);
        return false;
      }
      if (opts.total > 0 && sum > opts.total) {
        recount();
        if (sum > opts.total) {
          // Some socket holds more than its share (the sum could not pass `total` otherwise); once every
          // such socket is gone, the rest add up to at most `total`.
          const share = Math.floor(opts.total / seen.size);
          for (const [s, held] of seen) {
            if (held > share) evict(s, `Slow consumer: ${held} bytes unsent, over its share (${share}) of ${opts.total} for all sockets`);
          }
        }
      }
      return seen.has(socket);
    },
    get sockets() {
      return seen.size;
    },
    get bufferedBytes() {
      return sum;
    },
  };
}
