import { invalidParam, invalidRequest, missingParam, unknownParam } from '../errors.js';
import { CURRENCIES, isEmail, isSupportedCurrency } from '../validation.js';

type Raw = Record<string, unknown>;

/**
 * Reads a request's (qs-decoded, form-encoded) parameters with Stripe's validation:
 * every read names its param, wrong types and missing required values throw Stripe errors
 * with `param` set, and `done()` rejects any parameter the handler never read
 * ("Received unknown parameter"), as Stripe does.
 */
export class Params {
  private readonly read = new Set<string>();
  private readonly children: Params[] = [];

  constructor(
    readonly raw: Raw,
    private readonly prefix = '',
  ) {}

  private name(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  private take(key: string): unknown {
    this.read.add(key);
    return this.raw[key];
  }

  /** The param as sent; undefined when absent or empty (Stripe's missing-param error when `required`). */
  private present(key: string, required = false): unknown {
    const v = this.take(key);
    if (v !== undefined && v !== '') return v;
    if (required) throw missingParam(this.name(key));
    return undefined;
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }

  /** True when the param was sent as an empty string: Stripe's way to unset a field. */
  isEmpty(key: string): boolean {
    return this.raw[key] === '';
  }

  string(key: string): string | undefined;
  string(key: string, opts: { required: true }): string;
  string(key: string, opts?: { required?: boolean }): string | undefined {
    const v = this.present(key, opts?.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalidRequest(`Invalid string: ${this.name(key)} must be a string`, this.name(key));
    return v;
  }

  /** A string that may be explicitly unset with an empty value: undefined = absent, null = unset. */
  nullableString(key: string): string | null | undefined {
    if (this.raw[key] === '') {
      this.read.add(key);
      return null;
    }
    return this.string(key);
  }

  enum<T extends string>(key: string, values: readonly T[]): T | undefined;
  enum<T extends string>(key: string, values: readonly T[], opts: { required: true }): T;
  enum<T extends string>(key: string, values: readonly T[], opts?: { required?: boolean }): T | undefined {
    const v = opts?.required ? this.string(key, { required: true }) : this.string(key);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      throw invalidParam(this.name(key), `one of ${values.join(', ')}`);
    }
    return v as T;
  }

  int(key: string, opts?: { min?: number; max?: number }): number | undefined;
  int(key: string, opts: { min?: number; max?: number; required: true }): number;
  int(key: string, opts: { min?: number; max?: number; required?: boolean } = {}): number | undefined {
    const raw = this.present(key, opts.required);
    if (raw === undefined) return undefined;
    // JSON bodies (the `/_emulator` controls) carry numbers as numbers.
    const v = typeof raw === 'number' ? String(raw) : raw;
    if (typeof v !== 'string' || !/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw invalidRequest(`Invalid integer: ${String(v)}`, this.name(key), 'parameter_invalid_integer');
    }
    const n = Number(v);
    if (opts.min !== undefined && n < opts.min) {
      throw invalidRequest(`Invalid ${this.name(key)}: must be at least ${opts.min}`, this.name(key), 'parameter_invalid_integer');
    }
    if (opts.max !== undefined && n > opts.max) {
      throw invalidRequest(`Invalid ${this.name(key)}: must be at most ${opts.max}`, this.name(key), 'parameter_invalid_integer');
    }
    return n;
  }

  /** A number that may have a fraction (e.g. `percent_off=12.5`). */
  number(key: string, opts: { min?: number; max?: number; required?: boolean } = {}): number | undefined {
    const v = this.present(key, opts.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^-?\d+(\.\d+)?$/.test(v)) {
      throw invalidRequest(`Invalid decimal: ${String(v)}`, this.name(key), 'parameter_invalid');
    }
    const n = Number(v);
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      throw invalidParam(this.name(key), `between ${opts.min ?? '-inf'} and ${opts.max ?? 'inf'}`);
    }
    return n;
  }

  /** A non-negative decimal string such as "0.1" (Stripe's `*_decimal` params). */
  decimal(key: string): string | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(v)) throw invalidRequest(`Invalid decimal: ${v}`, this.name(key), 'parameter_invalid');
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.present(key);
    if (v === undefined) return undefined;
    if (v === 'true' || v === true) return true;
    if (v === 'false' || v === false) return false;
    throw invalidRequest(`Invalid boolean: ${String(v)}`, this.name(key), 'parameter_invalid');
  }

  /** A unix timestamp, or one of the given keywords (e.g. 'now'). */
  timestamp<K extends string = never>(key: string, keywords: readonly K[] = []): number | K | undefined {
    const v = this.raw[key];
    if (typeof v === 'string' && (keywords as readonly string[]).includes(v)) {
      this.read.add(key);
      return v as K;
    }
    return this.int(key, { min: 0 });
  }

  /** A three-letter currency Stripe supports, lower-cased (Stripe accepts `EUR` and stores `eur`). */
  currency(key: string): string | undefined;
  currency(key: string, opts: { required: true }): string;
  currency(key: string, opts?: { required?: boolean }): string | undefined {
    const v = opts?.required ? this.string(key, { required: true }) : this.string(key);
    if (v === undefined) return undefined;
    const c = v.toLowerCase();
    if (!isSupportedCurrency(c)) {
      throw invalidRequest(`Invalid currency: ${c}. Stripe currently supports these currencies: ${CURRENCIES.join(', ')}`, this.name(key), 'parameter_invalid');
    }
    return c;
  }

  /** An e-mail address (empty = unset, as for any nullable string). */
  email(key = 'email'): string | null | undefined {
    const v = this.nullableString(key);
    if (v && !isEmail(v)) throw invalidRequest(`Invalid email address: ${v}`, this.name(key), 'email_invalid');
    return v;
  }

  /** Metadata: a string map; an empty value deletes that key, an empty map clears all. */
  metadata(key = 'metadata'): Record<string, string | null> | null | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (v === '') return null;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw invalidRequest(`Invalid object: ${this.name(key)} must be a hash`, this.name(key), 'parameter_invalid');
    }
    const entries = Object.entries(v as Raw);
    if (entries.length > 50) {
      throw invalidRequest(`Metadata can have up to 50 keys, but you've set ${entries.length}.`, this.name(key), 'parameter_invalid');
    }
    const out: Record<string, string | null> = {};
    for (const [k, val] of entries) {
      if (typeof val !== 'string') throw invalidRequest(`Invalid ${this.name(key)}[${k}]: must be a string`, `${this.name(key)}[${k}]`);
      if (k.length > 40) throw invalidRequest(`Metadata keys can have up to 40 characters`, `${this.name(key)}[${k}]`);
      if (val.length > 500) throw invalidRequest(`Metadata values can have up to 500 characters`, `${this.name(key)}[${k}]`);
      out[k] = val === '' ? null : val;
    }
    return out;
  }

  object(key: string): Params | undefined;
  object(key: string, opts: { required: true }): Params;
  object(key: string, opts?: { required?: boolean }): Params | undefined {
    const v = this.present(key, opts?.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw invalidRequest(`Invalid object: ${this.name(key)} must be a hash`, this.name(key), 'parameter_invalid');
    }
    const child = new Params(v as Raw, this.name(key));
    this.children.push(child);
    return child;
  }

  /** An array of hashes (`items[0][price]=…`). */
  objects(key: string, opts?: { required?: boolean }): Params[] | undefined {
    const v = this.present(key, opts?.required);
    if (v === undefined) return undefined;
    const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? Object.values(v as Raw) : null;
    if (!list) throw invalidRequest(`Invalid array: ${this.name(key)} must be an array`, this.name(key), 'parameter_invalid');
    return list.map((item, i) => {
      if (typeof item !== 'object' || item === null) {
        throw invalidRequest(`Invalid object: ${this.name(key)}[${i}] must be a hash`, `${this.name(key)}[${i}]`);
      }
      const child = new Params(item as Raw, `${this.name(key)}[${i}]`);
      this.children.push(child);
      return child;
    });
  }

  /** An array of strings (`expand[]=a&expand[]=b`, `lookup_keys[]=x`). */
  strings(key: string): string[] | undefined {
    const v = this.present(key);
    if (v === undefined) return undefined;
    const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? Object.values(v as Raw) : [v];
    for (const s of list) {
      if (typeof s !== 'string') throw invalidRequest(`Invalid array: ${this.name(key)} must hold strings`, this.name(key));
    }
    return list as string[];
  }

  /**
   * Accepts a parameter (of any shape, nested keys included) that Stripe takes but the emulator does
   * not model, such as `mandate_data` or `payment_method_options`: it is not reported as unknown.
   */
  accept(key: string): void {
    this.take(key);
  }

  /** Throws for the first parameter no handler read, here or in a nested hash. */
  done(): void {
    for (const key of Object.keys(this.raw)) {
      if (!this.read.has(key)) throw unknownParam(this.name(key));
    }
    for (const child of this.children) child.done();
  }
}
