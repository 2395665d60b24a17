/**
 * Runs the Stripe CLI's trigger fixtures (`pkg/fixtures/triggers/*.json` of a stripe/stripe-cli checkout)
 * against the emulator as `stripe trigger` does, and prints which ran to the end and which emitted the
 * event they are named after.
 *
 *   npm run fidelity -- <stripe-cli checkout or its triggers folder> [--api-base URL] [--key sk_test_…]
 *                       [--all] [--only name,name] [--json]
 *
 * Without `--api-base` an emulator is started in this process. `--all` runs every fixture file instead
 * of the billing scope below. Exit code 0 whatever the score (this measures, it does not gate).
 *
 * What `stripe trigger` does, and this does the same (stripe-cli's pkg/fixtures and pkg/parsers):
 * - requests in file order; v1 (and GET/DELETE v2) params form-encoded (`a[b]=…`, `list[]=…`, arrays of
 *   objects `list[0][k]=…`; in arrays only strings, objects and arrays are kept, as the CLI's reflection
 *   drops numbers decoded from JSON there), POST v2 params as JSON;
 * - `${name:json.path|default}` in paths, values, headers and idempotency keys resolved from earlier
 *   responses (a missing value keeps the default, or the text as written), `${.env:NAME}` from the
 *   environment, `${time-now-RFC3339}` and `${generate-uuid}`;
 * - no `Stripe-Version` on v1 unless the fixture sets one; v2 requests carry the CLI's default version;
 * - a request answered with a status ≥ 300 stops the fixture unless its `error.type` equals the step's
 *   `expected_error_type`. A step's `api_base` (another Stripe host) is sent to the same base here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

await import(new URL('../bench/emulator/resolve-ts.ts', import.meta.url).href);

/**
 * The billing scope (71 files): customers (incl. their discounts and sources), products, prices, plans,
 * subscriptions (incl. the CLI's `subscription.payment_*`), subscription schedules, invoices, invoice
 * items, payment intents, payment methods, checkout sessions, billing portal, coupons, promotion codes,
 * billing meters and test clocks. Left out: charges, refunds, credit notes and setup intents (they come
 * with the payments work and run with `--all`), and everything outside billing (Connect, issuing, …).
 */
export const IN_SCOPE: readonly RegExp[] = [
  /^customer\.(created|updated|deleted)$/,
  /^customer\.discount\./,
  /^customer\.source\./,
  /^customer\.subscription\./,
  /^subscription\.payment_/,
  /^subscription_schedule\./,
  /^product\./,
  /^price\./,
  /^plan\./,
  /^invoice\./,
  /^invoiceitem\./,
  /^payment_intent\./,
  /^payment_method\./,
  /^checkout\.session\./,
  /^billing_portal\./,
  /^coupon\./,
  /^promotion_code\./,
  /^v1\.billing\.meter\./,
  /^test_helpers\.test_clock\./,
];

/**
 * Fixture files whose name is not an event type: the event that shows they worked. The CLI's
 * `subscription.payment_*` create a subscription whose first invoice is paid or fails.
 */
const EVENT_FOR: Record<string, string> = {
  'subscription.payment_failed': 'invoice.payment_failed',
  'subscription.payment_succeeded': 'invoice.payment_succeeded',
};

/** stripe-cli's default `Stripe-Version` for v2 requests (pkg/requests/stripe_version_header.go). */
const CLI_V2_VERSION = '2026-07-29.dahlia';

interface FixtureStep {
  name: string;
  path: string;
  method: string;
  params?: unknown;
  expected_error_type?: string;
  idempotency_key?: string;
  api_base?: string;
  headers?: Record<string, string>;
}

interface FixtureFile {
  fixtures: FixtureStep[];
}

export interface FixtureResult {
  fixture: string;
  event: string;
  steps: number;
  ran: boolean;
  failedStep?: string;
  error?: string;
  emitted: boolean;
}

type Json = unknown;

/** gjson-style dot path (`data.0.id`, `latest_invoice`) → the text the CLI would insert ('' if absent). */
function lookup(value: Json, path: string): string {
  let cur: Json = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, Json>)[key];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

const QUERY = /\$\{([^|}]+):([^|}]+)\|?([^/\n]+)?\}/;

/** One string with at most one `${name:path|default}` resolved, as the CLI's ParseQuery does. */
function resolve(text: string, responses: Map<string, Json>): string {
  if (text === '${time-now-RFC3339}') return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (text === '${generate-uuid}') return randomUUID();
  const m = QUERY.exec(text);
  if (!m) return text;
  const [match, name, query, fallback] = m as unknown as [string, string, string, string | undefined];
  const value = fallback ?? text;
  if (name === '.env') {
    const env = process.env[query];
    return env ? text.replace(match, env) : value;
  }
  if (!responses.has(name)) throw new Error(`an undeclared fixture name was referenced: ${name}`);
  const found = lookup(responses.get(name), query);
  return found.length > 0 ? text.replace(match, found) : value;
}

/** Every `${…}` in a path. */
function resolvePath(path: string, responses: Map<string, Json>): string {
  const global = new RegExp(QUERY.source, 'g');
  return path.replace(global, (m) => resolve(m, responses));
}

/** The CLI's form encoding (ParseMapForFormData / ParseArrayForFormData). */
function formPairs(value: Json, prefix: string, responses: Map<string, Json>, out: [string, string][]): void {
  if (Array.isArray(value)) {
    let index = -1;
    for (const item of value) {
      if (typeof item === 'string') out.push([`${prefix}[]`, resolve(item, responses)]);
      else if (Array.isArray(item)) formPairs(item, prefix, responses, out);
      else if (item && typeof item === 'object') {
        index++;
        for (const [k, v] of Object.entries(item)) leaf(`${prefix}[${index}][${k}]`, v, responses, out);
      }
    }
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) leaf(prefix ? `${prefix}[${k}]` : k, v, responses, out);
  }
}

function leaf(key: string, v: Json, responses: Map<string, Json>, out: [string, string][]): void {
  if (typeof v === 'string') out.push([key, resolve(v, responses)]);
  else if (typeof v === 'number' || typeof v === 'boolean') out.push([key, String(v)]);
  else if (v && typeof v === 'object') formPairs(v, key, responses, out);
}

/** POST v2 bodies: JSON with every string resolved (a resolved `[…]`/`{…}` is parsed, as the CLI does). */
function jsonParams(value: Json, responses: Map<string, Json>): Json {
  if (typeof value === 'string') {
    const s = resolve(value, responses);
    if ((s.startsWith('[') && s.endsWith(']')) || (s.startsWith('{') && s.endsWith('}'))) {
      try {
        return JSON.parse(s) as Json;
      } catch {
        return s;
      }
    }
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => jsonParams(v, responses));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonParams(v, responses)]));
  return value;
}

function encodeForm(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

async function request(
  base: string,
  key: string,
  step: FixtureStep,
  responses: Map<string, Json>,
): Promise<{ status: number; body: Json }> {
  const method = step.method.toUpperCase();
  const path = resolvePath(step.path, responses);
  if (!/^\/v[12]\//.test(path)) throw new Error(`fixture path ${JSON.stringify(step.path)} is not a Stripe API path`);
  const v2 = path.startsWith('/v2/');
  const headers: Record<string, string> = { Authorization: `Bearer ${key}` };
  let url = `${base}${path}`;
  let body: string | undefined;
  if (v2 && method === 'POST') {
    headers['Content-Type'] = 'application/json';
    body = step.params === undefined || step.params === null ? '' : JSON.stringify(jsonParams(step.params, responses));
  } else {
    const pairs: [string, string][] = [];
    formPairs(step.params ?? {}, '', responses, pairs);
    const form = encodeForm(pairs);
    if (method === 'GET' || method === 'DELETE') {
      if (form) url += `${url.includes('?') ? '&' : '?'}${form}`;
    } else {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = form;
    }
  }
  if (v2) headers['Stripe-Version'] = CLI_V2_VERSION;
  if (step.idempotency_key) headers['Idempotency-Key'] = resolve(step.idempotency_key, responses);
  for (const [k, v] of Object.entries(step.headers ?? {})) headers[k] = resolve(v, responses);
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    // not JSON: keep the text for the report
  }
  return { status: res.status, body: parsed };
}

function errorOf(body: Json): { type?: string; message?: string } {
  const e = (body as { error?: { type?: string; message?: string } } | null)?.error;
  return e && typeof e === 'object' ? e : {};
}

async function getJson(base: string, key: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

/** The newest event's id now (events after it are this fixture's). */
async function newestEventId(base: string, key: string): Promise<string | null> {
  const { body } = await getJson(base, key, '/v1/events?limit=1');
  return (body?.data?.[0]?.id as string | undefined) ?? null;
}

/** The types of the events emitted after `after` (all of them when null), paging towards the newest. */
async function eventTypesSince(base: string, key: string, after: string | null): Promise<Set<string>> {
  const types = new Set<string>();
  if (after === null) {
    let cursor: string | null = null;
    for (;;) {
      const { body } = await getJson(base, key, `/v1/events?limit=100${cursor ? `&starting_after=${cursor}` : ''}`);
      for (const e of body?.data ?? []) types.add(e.type);
      if (!body?.has_more) return types;
      cursor = body.data.at(-1).id;
    }
  }
  let cursor = after;
  for (;;) {
    const { body } = await getJson(base, key, `/v1/events?limit=100&ending_before=${cursor}`);
    for (const e of body?.data ?? []) types.add(e.type);
    if (!body?.has_more || !body.data?.length) return types;
    cursor = body.data[0].id;
  }
}

/** Thin (v2) events: `GET /v2/core/events`, where the server has it. */
async function thinEventTypes(base: string, key: string): Promise<Set<string>> {
  const { status, body } = await getJson(base, key, '/v2/core/events?limit=100');
  return new Set(status === 200 ? (body?.data ?? []).map((e: { type: string }) => e.type) : []);
}

export async function runFixture(base: string, key: string, file: string): Promise<FixtureResult> {
  const fixture = basename(file, '.json');
  const event = EVENT_FOR[fixture] ?? fixture;
  const data = JSON.parse(readFileSync(file, 'utf8')) as FixtureFile;
  const responses = new Map<string, Json>();
  const before = await newestEventId(base, key);
  const result: FixtureResult = { fixture, event, steps: data.fixtures.length, ran: true, emitted: false };
  for (const step of data.fixtures) {
    try {
      const { status, body } = await request(base, key, step, responses);
      if (status >= 300) {
        const err = errorOf(body);
        if (!(step.expected_error_type && err.type === step.expected_error_type)) {
          result.ran = false;
          result.failedStep = `${step.method.toUpperCase()} ${step.path} (${step.name})`;
          result.error = `${status} ${err.type ?? ''}: ${err.message ?? String(body).slice(0, 120)}`.trim();
          break;
        }
      }
      responses.set(step.name, body);
    } catch (err) {
      result.ran = false;
      result.failedStep = `${step.method.toUpperCase()} ${step.path} (${step.name})`;
      result.error = (err as Error).message;
      break;
    }
  }
  // Some events follow the response (test clocks finish asynchronously): look for up to 2 s when
  // the fixture ran to the end, once otherwise.
  const deadline = result.ran ? Date.now() + 2000 : 0;
  for (;;) {
    const types = event.startsWith('v1.') ? await thinEventTypes(base, key) : await eventTypesSince(base, key, before);
    if (types.has(event)) {
      result.emitted = true;
      break;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return result;
}

/** The fixture files of a checkout (`pkg/fixtures/triggers`) or of the folder itself, in name order. */
export function fixtureFiles(root: string, all: boolean): string[] {
  const nested = join(root, 'pkg', 'fixtures', 'triggers');
  const dir = statSync(nested, { throwIfNoEntry: false })?.isDirectory() ? nested : root;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .filter((f) => all || IN_SCOPE.some((re) => re.test(basename(f, '.json'))))
    .map((f) => join(dir, f));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'api-base': { type: 'string' },
      key: { type: 'string', default: process.env.STRIPE_API_KEY ?? 'sk_test_fidelity' },
      all: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const root = positionals[0];
  if (!root) {
    process.stderr.write('usage: npm run fidelity -- <stripe-cli checkout or pkg/fixtures/triggers> [--api-base URL] [--all] [--only a,b] [--json]\n');
    process.exit(2);
  }
  let files = fixtureFiles(root, values.all);
  if (values.only) {
    const only = new Set(values.only.split(','));
    files = files.filter((f) => only.has(basename(f, '.json')));
  }
  let base = values['api-base']?.replace(/\/$/, '');
  let close = async () => {};
  if (!base) {
    const { startEmulator } = await import('@billing-gateway/stripe-emulator');
    const emu = await startEmulator({ port: 0 });
    base = emu.url;
    close = () => emu.close();
  }
  const results: FixtureResult[] = [];
  for (const file of files) {
    const r = await runFixture(base, values.key, file);
    results.push(r);
    if (!values.json) {
      const ran = r.ran ? 'ran' : `FAILED at ${r.failedStep}: ${r.error}`;
      process.stdout.write(`${r.emitted ? '✓' : '✗'} ${r.fixture.padEnd(45)} ${ran}; ${r.emitted ? 'emitted' : 'did not emit'} ${r.event}\n`);
    }
  }
  await close();
  const ran = results.filter((r) => r.ran).length;
  const emitted = results.filter((r) => r.emitted).length;
  const both = results.filter((r) => r.ran && r.emitted).length;
  if (values.json) process.stdout.write(`${JSON.stringify({ total: results.length, ran, emitted, both, results }, null, 2)}\n`);
  else process.stdout.write(`\n${results.length} fixtures: ${ran} ran to the end, ${emitted} emitted their event, ${both} both\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
