/**
 * autocannon in a process of its own (so the load generator does not share the measured server's
 * event loop). Reads a LoadSpec as JSON from argv[2]; prints the LoadResult as JSON on stdout.
 * Each request's body is `bodyTemplate` with `__ID__` replaced by `idPrefix` + a random number in
 * 0…ids-1 (from a seeded PRNG when the spec has a `seed`).
 */
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load.ts';

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
/** mulberry32: a small seeded PRNG, so runs with the same `seed` ask for the same ids in the same order. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = spec.seed === undefined ? Math.random : seeded(spec.seed);
const body = () => spec.bodyTemplate.replace('__ID__', `${spec.idPrefix}${Math.floor(random() * spec.ids)}`);

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  method: 'POST',
  headers: { 'content-type': 'application/json', ...spec.headers },
  requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }) }],
});
const out: LoadResult = {
  requestsPerSecond: result.requests.average,
  total: result.requests.total,
  p50: result.latency.p50,
  p99: result.latency.p99,
  max: result.latency.max,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
};
process.stdout.write(JSON.stringify(out));
