/**
 * The answers this process gave per requestId, replayed for a retry: kept in columns (typed arrays and
 * arrays of references to the strings the answer already shares with the cached key and customer), a
 * ring of slots that grows to `maxEntries` and then reuses the oldest. Every answer with a requestId is
 * kept for minutes, so each survives the young generation and is copied, then promoted, by the GC: here
 * that is the requestId's string and a Map entry, where an object per answer (with its nested objects,
 * Dates and boxed numbers) made the scavenges copy several times as much.
 */
/** A verification's answer (`VerificationView` in verify-api-key.ts is this with its codes as `C`). */
export interface Answer<C extends string> {
  valid: boolean;
  code: C;
  keyId: string | null;
  customerId: string | null;
  externalId: string | null;
  plan: string | null;
  rateLimit: { limit: number; remaining: number; resetAt: Date } | null;
  quota: { limit: number | null; used: number; remaining: number | null; resetAt: Date } | null;
}

/** Numbers per slot: rate limit, remaining, reset (epoch ms); quota limit, used, remaining, reset. NaN: null. */
const NUMS = 7;
/** Strings per slot: keyId, customerId, externalId, plan. */
const REFS = 4;
const FIRST_CAPACITY = 1024;

export class ReplayLog<C extends string> {
  private readonly slots = new Map<string, number>();
  private readonly codeIndex: Map<C, number>;
  private ids: (string | null)[] = [];
  private codes = new Uint8Array(0);
  private until = new Float64Array(0);
  private nums = new Float64Array(0);
  private refs: (string | null)[] = [];
  private capacity = 0;
  private next = 0;

  /** `codes`: every code an answer may have (stored by index, at most 256). */
  constructor(
    private readonly maxEntries: number,
    private readonly codeList: readonly C[],
  ) {
    this.codeIndex = new Map(codeList.map((c, i) => [c, i]));
  }

  get size(): number {
    return this.slots.size;
  }

  /** The answer remembered for `id`, unless it expired by `now`. */
  get(id: string, now: number): Answer<C> | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined || this.until[slot]! <= now) return undefined;
    const n = slot * NUMS;
    const r = slot * REFS;
    const nums = this.nums;
    const code = this.codeList[this.codes[slot]!]!;
    return {
      valid: code === 'VALID',
      code,
      keyId: this.refs[r],
      customerId: this.refs[r + 1],
      externalId: this.refs[r + 2],
      plan: this.refs[r + 3],
      rateLimit: Number.isNaN(nums[n]!) ? null : { limit: nums[n]!, remaining: nums[n + 1]!, resetAt: new Date(nums[n + 2]!) },
      quota: Number.isNaN(nums[n + 6]!) ? null : { limit: nullable(nums[n + 3]!), used: nums[n + 4]!, remaining: nullable(nums[n + 5]!), resetAt: new Date(nums[n + 6]!) },
    };
  }

  /** Remembers `answer` for `id` until `until` (epoch ms); the oldest entry goes once `maxEntries` are kept. */
  set(id: string, answer: Answer<C>, until: number): void {
    const slot = this.take();
    const old = this.ids[slot];
    if (old != null && this.slots.get(old) === slot) this.slots.delete(old);
    this.ids[slot] = id;
    this.slots.set(id, slot);
    this.codes[slot] = this.codeIndex.get(answer.code)!;
    this.until[slot] = until;
    const n = slot * NUMS;
    const { rateLimit: rl, quota: q } = answer;
    this.nums[n] = rl ? rl.limit : NaN;
    this.nums[n + 1] = rl ? rl.remaining : 0;
    this.nums[n + 2] = rl ? rl.resetAt.getTime() : 0;
    this.nums[n + 3] = q && q.limit !== null ? q.limit : NaN;
    this.nums[n + 4] = q ? q.used : 0;
    this.nums[n + 5] = q && q.remaining !== null ? q.remaining : NaN;
    this.nums[n + 6] = q ? q.resetAt.getTime() : NaN;
    const r = slot * REFS;
    this.refs[r] = answer.keyId;
    this.refs[r + 1] = answer.customerId;
    this.refs[r + 2] = answer.externalId;
    this.refs[r + 3] = answer.plan;
  }

  /** The slot to write: the next one, growing the columns until `maxEntries`, then around the ring. */
  private take(): number {
    if (this.next === this.capacity) {
      if (this.capacity < this.maxEntries) this.grow(Math.min(this.maxEntries, Math.max(FIRST_CAPACITY, this.capacity * 2)));
      else this.next = 0;
    }
    return this.next++;
  }

  private grow(capacity: number): void {
    const codes = new Uint8Array(capacity);
    codes.set(this.codes);
    const until = new Float64Array(capacity);
    until.set(this.until);
    const nums = new Float64Array(capacity * NUMS);
    nums.set(this.nums);
    this.codes = codes;
    this.until = until;
    this.nums = nums;
    for (let i = this.capacity; i < capacity; i++) this.ids.push(null);
    for (let i = this.capacity * REFS; i < capacity * REFS; i++) this.refs.push(null);
    this.capacity = capacity;
  }
}

const nullable = (n: number): number | null => (Number.isNaN(n) ? null : n);
