import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

/**
 * The required (non-optional) properties of every object type in the `stripe` package's type
 * declarations, which are generated from Stripe's published OpenAPI spec.
 *
 * Read by hand from the `.d.ts` files: TypeScript 7 (this repository's compiler) has no classic compiler
 * API, and the declarations are generated, one member per line, in a regular shape:
 *   `export interface X {` / `interface X {` open a type, `namespace X {` a scope for its nested types,
 *   `name: Type;` a required property, `name?: Type;` an optional one, and a line ending in `{` an inline
 *   object type (skipped: none of the emulator's gaps hide there).
 */
export interface Prop {
  name: string;
  required: boolean;
  type: string;
}

export interface Iface {
  /** e.g. `Subscription.TrialSettings.EndBehavior` (namespaces within its file). */
  path: string;
  file: string;
  props: Prop[];
  /** The `object` literal (`'customer'`), for top-level API objects. */
  objectName?: string;
  deleted: boolean;
}

export class StripeTypes {
  /** file → path → interface */
  private readonly byFile = new Map<string, Map<string, Iface>>();
  /** top-level name → interfaces of that name in any file (for `Stripe.Address`-style references) */
  private readonly byName = new Map<string, Iface[]>();
  /** `object` literal → the interfaces that declare it (an object and its `Deleted…` stub share one) */
  readonly byObject = new Map<string, Iface[]>();

  constructor() {
    // The package's entry lives in `cjs/` or `esm/`; the declarations are in `esm/`.
    const entry = createRequire(import.meta.url).resolve('stripe');
    const root = join(entry.slice(0, entry.lastIndexOf('/node_modules/stripe/') + '/node_modules/stripe/'.length), 'esm');
    for (const file of walk(join(root, 'resources')).concat(join(root, 'shared.d.ts'))) {
      this.parse(relative(root, file), readFileSync(file, 'utf8'));
    }
  }

  private parse(file: string, text: string): void {
    const local = new Map<string, Iface>();
    this.byFile.set(file, local);
    // The open blocks: a namespace segment, an interface, or an inline/other block to ignore.
    const stack: ({ kind: 'ns'; name: string } | { kind: 'iface'; iface: Iface } | { kind: 'other' })[] = [];
    const scope = () => stack.flatMap((s) => (s.kind === 'ns' ? [s.name] : []));
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('/**') || line.startsWith('*') || line.startsWith('//')) continue;
      const top = stack.at(-1);
      const ns = /^(?:export )?(?:declare )?namespace ([A-Za-z0-9_]+) \{$/.exec(line);
      const iface = /^(?:export )?interface ([A-Za-z0-9_]+)(?:<[^>]*>)?(?: extends [^{]+)? \{$/.exec(line);
      if (ns) {
        stack.push({ kind: 'ns', name: ns[1]! });
      } else if (iface && (!top || top.kind === 'ns')) {
        const path = [...scope(), iface[1]!].join('.');
        const it: Iface = { path, file, props: [], deleted: false };
        local.set(path, it);
        if (!path.includes('.')) this.byName.set(iface[1]!, [...(this.byName.get(iface[1]!) ?? []), it]);
        stack.push({ kind: 'iface', iface: it });
      } else if (top?.kind === 'iface' && /^[A-Za-z0-9_]+\??: /.test(line)) {
        const m = /^([A-Za-z0-9_]+)(\??): (.*)$/.exec(line)!;
        const type = m[3]!.replace(/;$/, '');
        top.iface.props.push({ name: m[1]!, required: m[2] !== '?', type });
        const literal = /^'([a-z_.]+)'$/.exec(type);
        if (m[1] === 'object' && literal) top.iface.objectName = literal[1]!;
        if (m[1] === 'deleted' && type === 'true') top.iface.deleted = true;
        if (line.endsWith('{') || line.endsWith('<{')) stack.push({ kind: 'other' });
      } else if (line.endsWith('{')) {
        stack.push({ kind: 'other' });
      } else if (/^\}/.test(line)) {
        // `}`, `};`, `}>;`, `}>>;`: one block closes.
        stack.pop();
      }
    }
    for (const it of local.values()) {
      if (it.objectName && !it.path.includes('.')) this.byObject.set(it.objectName, [...(this.byObject.get(it.objectName) ?? []), it]);
    }
  }

  /** The interface of an API object (`object: 'customer'`), its deleted stub when `deleted: true`. */
  forObject(value: Record<string, unknown>): Iface | undefined {
    const all = this.byObject.get(value.object as string) ?? [];
    return all.find((i) => i.deleted === (value.deleted === true)) ?? all[0];
  }

  /**
   * The nested interfaces a property's type names (`Subscription.TrialSettings | null`,
   * `Array<Invoice.Line>`, `Stripe.Address`), resolved as TypeScript would from the declaring scope.
   */
  resolve(from: Iface, type: string): Iface[] {
    const local = this.byFile.get(from.file)!;
    const out: Iface[] = [];
    for (const ref of type.match(/[A-Z][A-Za-z0-9_]*(?:\.[A-Z][A-Za-z0-9_]*)*/g) ?? []) {
      if (ref.startsWith('Stripe.')) {
        const name = ref.split('.').at(-1)!;
        const found = this.byName.get(name) ?? [];
        if (found.length === 1) out.push(found[0]!);
        continue;
      }
      const segments = from.path.split('.');
      for (let n = segments.length; n >= 0; n--) {
        const hit = local.get([...segments.slice(0, n), ref].join('.'));
        if (hit) {
          out.push(hit);
          break;
        }
      }
    }
    return out;
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * Every required field missing from `value` and the nested objects it holds, as
 * `Interface.path.field` (e.g. `Subscription.TrialSettings.EndBehavior.missing_payment_method`).
 * Objects carrying their own `object` are checked against their own type wherever they appear.
 */
export function missingRequired(types: StripeTypes, value: unknown, out = new Set<string>(), seen = new Set<unknown>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) missingRequired(types, v, out, seen);
    return out;
  }
  if (!value || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  const obj = value as Record<string, unknown>;
  if (typeof obj.object === 'string') {
    const iface = types.forObject(obj);
    if (iface) checkAgainst(types, iface, obj, out, seen);
    else if (obj.object !== 'list' && obj.object !== 'search_result') out.add(`(no type for object '${obj.object}')`);
  }
  for (const v of Object.values(obj)) missingRequired(types, v, out, seen);
  return out;
}

function checkAgainst(types: StripeTypes, iface: Iface, obj: Record<string, unknown>, out: Set<string>, seen: Set<unknown>): void {
  for (const prop of iface.props) {
    const v = obj[prop.name];
    if (v === undefined) {
      if (prop.required) out.add(`${iface.path}.${prop.name}`);
      continue;
    }
    // Nested objects without their own `object` are checked against the property's declared type.
    for (const item of Array.isArray(v) ? v : [v]) {
      if (!item || typeof item !== 'object' || Array.isArray(item) || typeof (item as Record<string, unknown>).object === 'string') continue;
      const candidates = types.resolve(iface, prop.type).filter((c) => !c.objectName);
      if (candidates.length === 1) checkAgainst(types, candidates[0]!, item as Record<string, unknown>, out, seen);
    }
  }
}
