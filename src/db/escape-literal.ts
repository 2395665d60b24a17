/**
 * MikroORM inlines every parameter of a raw statement into its text (`formatQuery`), escaping strings
 * with a loop that appends one character at a time: one new string object per character. A statement
 * with a JSON parameter of a few hundred kB (a ledger insert of 1,000 rows, the key stats, the meter
 * events' marks) then allocates megabytes of garbage, and a scavenge that lands inside the loop copies
 * the whole half-built chain (GC pauses on the key-verification hot path). This one gives the same text
 * (libpq's PQescapeLiteral, as MikroORM's: quotes and backslashes doubled, E'' when there is a backslash)
 * from whole-string operations.
 */
export function escapeLiteral(str: string): string {
  const hasBackslash = str.includes('\\');
  let body = str.includes("'") ? str.replaceAll("'", "''") : str;
  if (hasBackslash) body = body.replaceAll('\\', '\\\\');
  return hasBackslash ? ` E'${body}'` : `'${body}'`;
}

/** Puts `escapeLiteral` on a PostgreSQL platform (PostgreSQL or PGlite) that has MikroORM's. */
export function useFastEscapeLiteral(platform: object): void {
  const p = platform as { escapeLiteral?: (str: string) => string };
  if (typeof p.escapeLiteral === 'function') p.escapeLiteral = escapeLiteral;
}
