/**
 * A token bucket shared by every sender of one flusher: `rate` tokens a second, at most `burst`
 * saved up. `take()` reserves a token and waits until it is due, so concurrent senders queue
 * fairly without polling. The rate may be lowered (after a 429) and raised again while running.
 */
export class TokenBucket {
  private available: number;
  private last = performance.now();

  constructor(
    private rate: number,
    private readonly burstSeconds = 0.1,
  ) {
    if (!(rate > 0)) throw new Error('TokenBucket: rate must be positive');
    this.available = this.burst;
  }

  get ratePerSecond(): number {
    return this.rate;
  }

  setRate(rate: number): void {
    this.refill();
    this.rate = Math.max(rate, 0.1);
    this.available = Math.min(this.available, this.burst);
  }

  /** Waits for a token; false when `signal` aborted first (the token is then given back). */
  async take(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    const waitMs = this.reserve();
    if (waitMs <= 0) return true;
    const ok = await sleep(waitMs, signal);
    if (!ok) this.available += 1;
    return ok;
  }

  /** Milliseconds until the token just reserved is due (0: now). */
  private reserve(): number {
    this.refill();
    this.available -= 1;
    return this.available >= 0 ? 0 : (-this.available / this.rate) * 1000;
  }

  private get burst(): number {
    return Math.max(1, this.rate * this.burstSeconds);
  }

  private refill(): void {
    const now = performance.now();
    this.available = Math.min(this.burst, this.available + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
