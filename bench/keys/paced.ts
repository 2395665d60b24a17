/**
 * Open-loop, paced HTTP load for the keys bench's fixed-rate row: request i is due at start + i / rate
 * (2,000/s: one every 0.5 ms), sent over at most `connections` keep-alive connections (a request due
 * while all are busy waits its turn), and its latency is
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
 *
 * The client is a minimal HTTP/1.1 one on plain sockets by default (`raw`, ../lib/raw-http.ts): node:http's client took
 * about 0.2 ms of CPU per request here (39% of a core at 2,000/s), on the same two cores as the server
 * it measures, where this one takes about half that. `http` keeps node:http's for comparison.
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { rawHttpClient, type Fail, type Finish } from '../lib/raw-http.ts';

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
  /**
   * `raw` (default): a minimal HTTP/1.1 client on plain sockets (one request in flight per keep-alive
   * connection, answers framed by Content-Length), so the generator takes little of the CPU the server
   * shares with it on a small machine; `http`: node:http's client.
   */
  client?: 'raw' | 'http';
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
  /** p99 of each answer's code (ms), so a tail that belongs to one outcome shows. */
  p99ByCode: [string, number][];
  /** Milliseconds each send left after its due time (the generator's own lateness): p50, p99, max. */
  late: { p50: number; p99: number; max: number };
  /** The worker's event-loop delay over the measured seconds, ms. */
  loop: { p99: number; max: number };
  /**
   * The longest stretches of slow answers (over 10 ms, due within 5 ms of each other): when each began
   * (ms after the measured start), how long requests kept coming back slow, how many, and the worst.
   * One stall that every request due during it waits out looks different from a scattered tail.
   */
  stalls: { at: number; ms: number; requests: number; worst: number }[];
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

type Transport = { send(body: string, finish: Finish, fail: Fail): void; close(): void };

/** node:http's client with a keep-alive agent of at most `connections` sockets. */
function httpTransport(url: URL, headers: Record<string, string>, connections: number): Transport {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  return {
    send(body, finish, fail) {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => finish(res.statusCode!, text));
      });
      // An answer that never comes is an error, not a run that never ends.
      req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', fail);
      req.end(body);
    },
    close: () => agent.destroy(),
  };
}

/** Nearest-rank percentile of an ascending array. */
const pct = (sorted: Float64Array, p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** PacedResult.stalls from the measured latencies in send order (measured request n due n × interval after the measured start). */
function stallsOf(latency: Float64Array, interval: number): PacedResult['stalls'] {
  const out: PacedResult['stalls'] = [];
  let cur: { first: number; last: number; requests: number; worst: number } | null = null;
  const close = () => {
    if (cur) out.push({ at: round2(cur.first * interval), ms: round2((cur.last - cur.first) * interval), requests: cur.requests, worst: round2(cur.worst) });
    cur = null;
  };
  for (let n = 0; n < latency.length; n++) {
    if (latency[n]! <= 10) continue;
    if (cur && (n - cur.last) * interval > 5) close();
    cur ??= { first: n, last: n, requests: 0, worst: 0 };
    cur.last = n;
    cur.requests++;
    cur.worst = Math.max(cur.worst, latency[n]!);
  }
  close();
  return out.sort((a, b) => b.requests - a.requests).slice(0, 3);
}

async function run(spec: PacedSpec): Promise<Omit<PacedResult, 'codes'> & { codes: [string, number][] }> {
  const url = new URL(spec.url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.token) headers.authorization = `Bearer ${spec.token}`;
  const transport: Transport = spec.client === 'http' ? httpTransport(url, headers, spec.connections) : rawHttpClient(url, headers, spec.connections);
  const interval = 1000 / spec.rate;
  const warm = Math.round(spec.warmupSeconds * spec.rate);
  const total = warm + Math.round(spec.seconds * spec.rate);
  const measured = total - warm;
  const latency = new Float64Array(measured);
  const late = new Float64Array(measured);
  const codes = new Map<string, number>();
  // Each measured request's code, as an index into `codeNames`, for the per-code p99.
  const codeNames: string[] = [];
  const codeOf = new Uint8Array(measured).fill(255);
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
      transport.close();
      const p99ByCode = codeNames.map((name, c): [string, number] => [name, round2(pct(latency.filter((_, i) => codeOf[i] === c).sort(), 99))]);
      const stalls = stallsOf(latency, interval);
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
        p99ByCode,
        late: { p50: round2(pct(late, 50)), p99: round2(pct(late, 99)), max: round2(late[late.length - 1] ?? NaN) },
        loop: { p99: round2(loop.percentile(99) / 1e6), max: round2(loop.max / 1e6) },
        stalls,
      });
    };

    const send = (i: number, due: number, now: number): void => {
      if (i === warm) loop.enable();
      const n = i - warm;
      if (n >= 0) late[n] = now - due;
      const key = Math.random() < 0.05 ? `bg_live_unknown${i}` : spec.keys[Math.floor(Math.random() * spec.keys.length)]!;
      const body = `{"key":"${key}","cost":1,"requestId":"r-${spec.runTag}-${i}"}`;
      let settled = false;
      transport.send(
        body,
        (status, text) => {
          if (settled) return;
          settled = true;
          if (n >= 0) {
            latency[n] = performance.now() - due;
            if (status < 200 || status >= 300) non2xx++;
            const code = /"code":"(\w+)"/.exec(text)?.[1] ?? 'unparsed';
            codes.set(code, (codes.get(code) ?? 0) + 1);
            let c = codeNames.indexOf(code);
            if (c < 0) c = codeNames.push(code) - 1;
            codeOf[n] = c;
          }
          done();
        },
        () => {
          if (settled) return;
          settled = true;
          if (n >= 0) {
            latency[n] = performance.now() - due;
            errors++;
          }
          done();
        },
      );
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
