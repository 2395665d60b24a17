import { pino, type Logger } from 'pino';

/**
 * One logger for the process. Secrets never reach it: the redact list covers the places
 * they could appear (auth headers, Stripe keys and signatures in request logs).
 */
const options = {
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: undefined,
  redact: {
    paths: ['req.headers.authorization', 'req.headers["stripe-signature"]', '*.secret', '*.apiKey', '*.stripeSecretKey'],
    censor: '[redacted]',
  },
};

// stdout by default; the CLI's one-shot commands keep stdout for their output (e.g. --json) and log to stderr.
export const logger: Logger =
  process.env.BILLING_GATEWAY_LOG_TO_STDERR === '1' ? pino(options, pino.destination({ fd: 2, sync: true })) : pino(options);

export type { Logger };
