import { DefaultLogger, type LogContext, type Logger, type LoggerOptions } from '@mikro-orm/core';

/** Called once per SQL statement the ORM sends (after it returns or fails). */
export type QueryListener = (query: { query: string } & LogContext) => void;

/**
 * MikroORM's default logger plus listeners on every executed statement. MikroORM reports each statement to
 * its logger whether or not query logging is on, so this is the one place that sees them all (the
 * statement counter of tests, and anything that wants query metrics).
 */
export class ObservingLogger extends DefaultLogger implements Logger {
  readonly #listeners = new Set<QueryListener>();

  constructor(options: LoggerOptions) {
    super(options);
  }

  override logQuery(context: { query: string } & LogContext): void {
    if ((context.namespace ?? 'query') === 'query') {
      for (const listener of this.#listeners) listener(context);
    }
    super.logQuery(context);
  }

  /** Adds a listener; returns the function that removes it. */
  addQueryListener(listener: QueryListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Calls `listener` for every SQL statement `orm` executes until the returned function is called.
 * Throws when the ORM was not configured through `createOrmConfig` (no observing logger).
 */
export function onQuery(orm: { config: { getLogger(): Logger } }, listener: QueryListener): () => void {
  const ormLogger = orm.config.getLogger();
  if (!(ormLogger instanceof ObservingLogger)) {
    throw new Error('This ORM was not configured with createOrmConfig: its queries cannot be observed');
  }
  return ormLogger.addQueryListener(listener);
}
