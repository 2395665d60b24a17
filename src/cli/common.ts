import { InvalidArgumentError, type Command } from 'commander';
import { errorLine } from '../errors.js';
import { writeOut } from './in-gateway.js';

/** A failure the user should read as one line; `exitCode` 1 = the command failed, 2 = bad usage. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** The exit code a command's action leaves for `runCli` (long-running commands return after their shutdown). */
export type CommandOutcome = number;

/** Lets a command's action hand its outcome back to `runCli`; `run` is the CLI itself (a gateway started by `serve` runs data commands with it). */
export interface CliContext {
  outcome: CommandOutcome;
  run(argv: string[]): Promise<CommandOutcome>;
}

export function printJson(value: unknown): void {
  writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a port number (0-65535).');
  const n = Number(value);
  if (n > 65535) throw new InvalidArgumentError('expected a port number (0-65535).');
  return n;
}

/** A port to serve on: 1-65535 (PORT has no "any free port"). */
export function parseServePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new InvalidArgumentError('expected a port number (1-65535).');
  return Number(value);
}

export function parseUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return value;
  } catch {
    throw new InvalidArgumentError('expected an http:// or https:// URL.');
  }
}

const DURATION = /^(\d+)\s*(s|m|h|d|w)$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "90s", "15m", "1h", "7d", "2w" → seconds. */
export function parseDuration(value: string): number {
  const m = DURATION.exec(value.trim());
  if (!m || Number(m[1]) < 1) throw new InvalidArgumentError('expected a duration such as 30m, 1h, 7d.');
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

/** Resolves on the first SIGINT or SIGTERM (then removes its listeners). */
export function waitForShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** A whole number in [min, max] for an option such as --first or --days. */
export function intOption(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number ${min}-${max}.`);
    }
    return Number(value);
  };
}

/** Writes lines to stdout (the human-readable form of a command's result). */
export function printLines(...lines: string[]): void {
  writeOut(lines.map((l) => `${l}\n`).join(''));
}

/** A service's input field → the CLI option that carries it (for BAD_USER_INPUT). */
const FIELD_OPTIONS: Record<string, string> = {
  plan: '--plan',
  quantity: '--quantity',
  paymentMethod: '--payment-method',
  trialDays: '--trial-days',
  customerId: '--customer',
  subscriptionId: '<id>',
  promotionCode: '--promotion-code',
  idempotencyKey: '--idempotency-key',
  first: '--first',
  after: '--after',
  email: '--email',
  name: '--name',
  expiresAt: '--expires',
};

interface AppErrorLike {
  message: string;
  extensions: { code: string; field?: unknown; declineCode?: unknown };
}

function isAppErrorLike(err: unknown): err is AppErrorLike {
  const ext = (err as { extensions?: { code?: unknown } } | null)?.extensions;
  return err instanceof Error && typeof ext?.code === 'string';
}

/**
 * A service's AppError (the error codes docs/api.md lists) as one line and an exit code:
 * BAD_USER_INPUT is bad usage (2) naming the option; anything else failed (1), with its code.
 */
export function describeServiceError(err: unknown): { line: string; exitCode: 1 | 2 } | null {
  if (!isAppErrorLike(err)) return null;
  const { code, field, declineCode } = err.extensions;
  const message = errorLine(err);
  if (code === 'BAD_USER_INPUT') {
    if (typeof field !== 'string') return { line: message, exitCode: 2 };
    const option = FIELD_OPTIONS[field] ?? field;
    // Some messages already start with the field's name: say it once, as the option.
    const text = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
    return { line: `${option}: ${text}`, exitCode: 2 };
  }
  const detail = typeof declineCode === 'string' ? `${code}, ${declineCode}` : code;
  // The cause of an internal error is logged, not shown (it may hold SQL or ids): say how to see it.
  const hint = code === 'INTERNAL_SERVER_ERROR' ? '; run with LOG_LEVEL=error to see the cause on stderr' : '';
  return { line: `${message} (${detail})${hint}`, exitCode: 1 };
}

/** A command that only groups others (`customers list|get`): alone, it is bad usage in one line. */
export function commandGroup(program: Command, name: string, description: string): Command {
  const group = program.command(name).description(description);
  group.action(() => {
    throw new UsageError(`${name}: expected one of ${group.commands.map((c) => c.name()).join(', ')} (see billing-gateway ${name} --help)`);
  });
  return group;
}
