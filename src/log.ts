import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** Secrets never reach a log line: the redact list covers where they could appear (auth headers, Stripe keys and signatures in request logs). */
const REDACT = {
  paths: ['req.headers.authorization', 'req.headers["stripe-signature"]', '*.secret', '*.apiKey', '*.stripeSecretKey'],
  censor: '[redacted]',
};

export interface LogOutput {
  level: LogLevel;
  /** Where the lines go; unset: stdout. */
  stream?: DestinationStream;
}

/** A logger at `level` writing to `stream`, with the gateway's redaction. */
export function createLogger(output: LogOutput): Logger {
  const options = { level: output.level, base: undefined, redact: REDACT };
  return output.stream ? pino(options, output.stream) : pino(options);
}

/** stderr, written synchronously: the CLI's one-shot commands keep stdout for their output (e.g. --json). */
export function stderrStream(): DestinationStream {
  return pino.destination({ fd: 2, sync: true });
}

/**
 * The process's logger, for modules that are not handed one. Silent until the process's entry sets it
 * (`setLogger`): the CLI per command, before the command runs; the gateway's `start` sets its level
 * from the configuration. Nothing is read from the environment here.
 */
export let logger: Logger = createLogger({ level: 'silent' });

export function setLogger(next: Logger): void {
  logger = next;
}

export type { Logger };
