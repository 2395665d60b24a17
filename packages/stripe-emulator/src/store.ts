import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { resourceMissing } from './errors.js';

/** Any stored object: a Stripe-shaped JSON object, or an internal record keyed by `id`. */
export interface Stored {
  id: string;
  [key: string]: unknown;
}

interface Snapshot {
  version: 1;
  collections: Record<string, Stored[]>;
}

/**
 * In-memory collections of JSON objects, keyed by kind (`customer`, `price`, …) and id, in insertion
 * order. With a data dir, the whole state is written to `state.json` shortly after each change
 * (atomically, via rename) and read back on start, so the emulator survives a restart.
 */
export class Store {
  private collections = new Map<string, Map<string, Stored>>();
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly file: string | undefined;
  /** How long the last write took: the next waits at least 10× that, so writing stays under ~10% of the time. */
  private lastFlushMs = 0;

  constructor(
    dataDir?: string,
    private readonly saveDelayMs = 100,
  ) {
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true });
      this.file = join(dataDir, 'state.json');
      this.load();
    }
  }

  private collection(kind: string): Map<string, Stored> {
    let c = this.collections.get(kind);
    if (!c) {
      c = new Map();
      this.collections.set(kind, c);
    }
    return c;
  }

  get<T extends Stored>(kind: string, id: string): T | undefined {
    return this.collections.get(kind)?.get(id) as T | undefined;
  }

  /** The object, or Stripe's 404 `resource_missing` naming the param that held the id. */
  require<T extends Stored>(kind: string, id: string, objectName: string = kind, param = 'id'): T {
    const found = this.get<T>(kind, id);
    if (!found) throw resourceMissing(objectName, id, param);
    return found;
  }

  insert<T extends Stored>(kind: string, obj: T): T {
    this.collection(kind).set(obj.id, obj);
    this.changed();
    return obj;
  }

  delete(kind: string, id: string): boolean {
    const removed = this.collections.get(kind)?.delete(id) ?? false;
    if (removed) this.changed();
    return removed;
  }

  /** All objects of a kind, oldest first. */
  all<T extends Stored>(kind: string): T[] {
    return [...(this.collections.get(kind)?.values() ?? [])] as T[];
  }

  count(kind: string): number {
    return this.collections.get(kind)?.size ?? 0;
  }

  clear(): void {
    this.collections.clear();
    this.changed();
  }

  /** Call after mutating a stored object in place. */
  changed(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(
      () => {
        this.saveTimer = undefined;
        this.flush();
      },
      Math.max(this.saveDelayMs, Math.min(10 * this.lastFlushMs, 10_000)),
    );
    this.saveTimer.unref();
  }

  flush(): void {
    if (!this.file) return;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    const started = performance.now();
    const snapshot: Snapshot = { version: 1, collections: {} };
    for (const [kind, c] of this.collections) snapshot.collections[kind] = [...c.values()];
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(snapshot));
    renameSync(tmp, this.file);
    this.lastFlushMs = performance.now() - started;
  }

  private load(): void {
    if (!this.file || !existsSync(this.file)) return;
    const snapshot = JSON.parse(readFileSync(this.file, 'utf8')) as Snapshot;
    for (const [kind, objs] of Object.entries(snapshot.collections)) {
      const c = this.collection(kind);
      for (const o of objs) c.set(o.id, o);
    }
  }
}
