/**
 * Open-loop, paced HTTP load for the keys bench's fixed-rate row: request i is due at start + i / rate
 * (2,000/s: one every 0.5 ms), sent over keep-alive connections (node:http's Agent, at most
 * `connections` sockets; a request due while all are busy waits in the agent's queue), and its latency is
 * taken from its *due* time to the end of its answer. A server stall therefore counts in full for every
 * request due during it (no coordinated omission), unlike a closed loop, and unlike autocannon's rate
 * mode, which sends each connection's share of a second back to back at the start of the second.
 *
 * It runs in a worker thread of its own: the bench process also hosts the Stripe emulator the gateway
 * flushes usage to, whose work must not delay the sends. Node's timers wake at whole milliseconds (a send
 * due every 0.5 ms would leave 0.4 ms late at the median), so a second, tiny worker is the clock: it
 * sleeps in `Atomics.wait` (sub-millisecond, no CPU while waiting) until the next send is due and posts
 * a message that wakes the sender; answers arriving and a 1 ms timer also send what is due. How late the
 * sends left their due time, and the sender's own event-loop delay, are reported with the result so the
 * generator's share of a latency is visible.
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface PacedSpec {
  url: string;
  /** Bearer token, or null for none. */
  token: string | null;
  keys: string[];
  rate: number;
  seconds: number;
  /** Paced seconds sent first and not measured (connections opened, JIT warm). */
  warmupSeconds: number;
  connections: number;
  /** Makes this run's requestIds its own (no id of an earlier run comes back as a replay). */
  runTag: string;
}

export interface PacedResult {
  sent: number;
  perSecond: number;
  /** Milliseconds from each request's due time to the end of its answer. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  non2xx: number;
  errors: number;
  codes: Map<string, number>;
  /** Milliseconds each send left after its due time (the generator's own lateness): p50, p99, max. */
  late: { p50: number; p99: number; max: number };
  /** The worker's event-loop delay over the measured seconds, ms. */
  loop: { p99: number; max: number };
}

/** Runs the paced load in a worker thread and resolves with its figures. */
export function pacedLoad(spec: PacedSpec): Promise<PacedResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: spec });
    worker.once('message', (r: Omit<PacedResult, 'codes'> & { codes: [string, number][] }) => resolve({ ...r, codes: new Map(r.codes) }));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`paced load worker exited ${code}`))));
  });
}

/** The clock (plain JavaScript, run with `eval`): a message every `intervalMs` until the flag is set. */
const CLOCK = `
const { parentPort, workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.sab);
let next = performance.now();
while (Atomics.load(flag, 0) === 0) {
  next += workerData.intervalMs;
  const wait = next - performance.now();
  if (wait > 0) Atomics.wait(flag, 0, 0, wait);
  else if (wait < -50) next = performance.now();
  parentPort.postMessage(0);
}
`;

/** Nearest-rank percentile of an ascending array. */
const pct = (sorted: Float64Array, p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
const round2 = (n: number): number => Math.round(n * 100) / 100;

async function run(spec: PacedSpec): Promise<Omit<PacedResult, 'codes'> & { codes: [string, number][] }> {
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.token) headers.authorization = `Bearer ${spec.token}`;
  const interval = 1000 / spec.rate;
  const warm = Math.round(spec.warmupSeconds * spec.rate);
  const total = warm + Math.round(spec.seconds * spec.rate);
  const measured = total - warm;
  const latency = new Float64Array(measured);
  const late = new Float64Array(measured);
  const codes = new Map<string, number>();
  let non2xx = 0;
  let errors = 0;
  let next = 0;
  let finished = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const clock = new Worker(CLOCK, { eval: true, workerData: { sab: stop.buffer, intervalMs: interval } });
  const start = performance.now() + 5;

  return new Promise((resolve) => {
    const done = (): void => {
      if (++finished < total) return pump();
      loop.disable();
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
      void clock.terminate();
      agent.destroy();
      const order = (a: Float64Array) => a.sort();
      order(latency);
      order(late);
      resolve({
        sent: measured,
        perSecond: measured / spec.seconds,
        p50: round2(pct(latency, 50)),
        p99: round2(pct(latency, 99)),
        p999: round2(pct(latency, 99.9)),
        max: round2(latency[latency.length - 1] ?? NaN),
        non2xx,
        errors,
        codes: [...codes],
        late: { p50: round2(pct(late, 50)), p99: round2(pct(late, 99)), max: round2(late[late.length - 1] ?? NaN) },
        loop: { p99: round2(loop.percentile(99) / 1e6), max: round2(loop.max / 1e6) },
      });
    };

    const send = (i: number, due: number, now: number): void => {
      if (i === warm) loop.enable();
      const n = i - warm;
      if (n >= 0) late[n] = now - due;
      const key = Math.random() < 0.05 ? `bg_live_unknown${i}` : spec.keys[Math.floor(Math.random() * spec.keys.length)]!;
      const body = `{"key":"${key}","cost":1,"requestId":"r-${spec.runTag}-${i}"}`;
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          if (n >= 0) {
            latency[n] = performance.now() - due;
            if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
            const code = /"code":"(\w+)"/.exec(text)?.[1] ?? 'unparsed';
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
          done();
        });
      });
      let settled = false;
      // An answer that never comes is an error, not a run that never ends.
      req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', () => {
        if (settled) return;
        settled = true;
        if (n >= 0) {
          latency[n] = performance.now() - due;
          errors++;
        }
        done();
      });
      req.end(body);
    };

    let timer: NodeJS.Timeout | null = null;
    // Sends every request due by now; then sleeps until the next one is due (or an answer wakes it first).
    const pump = (): void => {
      const now = performance.now();
      while (next < total) {
        const due = start + next * interval;
        if (due > now) break;
        send(next++, due, now);
      }
      if (next < total && timer === null) {
        timer = setTimeout(() => {
          timer = null;
          pump();
        }, Math.max(0, start + next * interval - now));
      }
    };
    clock.on('message', pump);
    pump();
  });
}

if (!isMainThread && parentPort && (workerData as PacedSpec | undefined)?.url) {
  parentPort.postMessage(await run(workerData as PacedSpec));
}
