import { ConfigError } from '../config.js';

/**
 * Why the database could not be opened, as one line naming the setting and the fix. Built from the
 * parts of DATABASE_URL (host, port, database, user), never from the URL itself, so no password shows.
 */
export interface DatabaseTarget {
  host: string;
  port: string;
  database: string;
  user: string;
}

export function databaseTarget(url: string): DatabaseTarget {
  try {
    const u = new URL(url);
    const socketHost = u.searchParams.get('host');
    return {
      host: decodeURIComponent(u.hostname) || socketHost || 'localhost',
      port: u.port || '5432',
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres',
      user: decodeURIComponent(u.username) || 'postgres',
    };
  } catch {
    return { host: 'localhost', port: '5432', database: '?', user: '?' };
  }
}

/** The one-line shell command that creates the database DATABASE_URL names. */
export function createdbCommand(t: DatabaseTarget): string {
  const q = (s: string) => (/^[\w.@/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `createdb -h ${q(t.host)} -p ${t.port} -U ${q(t.user)} ${q(t.database)}`;
}

type DriverError = { code?: string; message?: string; cause?: unknown };

/** A PostgreSQL connection or migration failure → ConfigError('DATABASE_URL', …); anything else unchanged. */
export function explainDatabaseError(err: unknown, url: string): unknown {
  if (err instanceof ConfigError) return err;
  const e = (err ?? {}) as DriverError;
  const code = e.code ?? (e.cause as DriverError | undefined)?.code;
  const t = databaseTarget(url);
  const at = `${t.host}:${t.port}`;
  const line = (text: string) => new ConfigError('DATABASE_URL', `DATABASE_URL: ${text}`);
  switch (code) {
    case 'ECONNREFUSED':
      return line(`nothing accepts connections at ${at} (connection refused); start PostgreSQL there, or fix the host and port`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return line(`host "${t.host}" not found; fix the host`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return line(`no answer from ${at} (${code}); check the host, the port and the network`);
    case '3D000':
      return line(
        `database "${t.database}" does not exist at ${at}; create it (${createdbCommand(t)}) or fix its name (the gateway never creates a database)`,
      );
    case '28P01':
    case '28000':
      return line(`PostgreSQL at ${at} refused user "${t.user}" (${oneLine(e.message)}); fix the user or the password`);
    case '42501':
      return line(`user "${t.user}" may not create the gateway's tables in database "${t.database}" at ${at} (${oneLine(e.message)}); grant it CREATE, or use its owner`);
    case '57P03':
      return line(`PostgreSQL at ${at} is starting up or shutting down; try again in a moment`);
    default:
      if (typeof e.message === 'string' && /timeout/i.test(e.message)) return line(`no answer from ${at} (${oneLine(e.message)}); check the host, the port and the network`);
      return err;
  }
}

function oneLine(message: string | undefined): string {
  return (message ?? 'unknown error').split('\n')[0]!.slice(0, 200);
}
