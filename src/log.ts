import { pino, type Logger } from 'pino';

/**
 * One logger for the process. Secrets never reach it: the redact list covers the places
 * they could appear (auth headers, Stripe keys and signatures in request logs).
 */
export const logger: Logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: undefined,
  redact: {
    paths: ['req.headers.authorization', 'req.headers["stripe-signature"]', '*.secret', '*.apiKey', '*.stripeSecretKey'],
    censor: '[redacted]',
  },
});

export type { Logger };
