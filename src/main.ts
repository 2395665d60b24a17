/**
 * The process entry of `node dist/src/main.js` (the CLI's `serve` does the same): the gateway
 * (./gateway.ts) until SIGINT/SIGTERM, serving CLI data commands for other CLI processes meanwhile.
 */
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { runCli } from './cli/index.js';
import { start, startupFailureLine, type RunningGateway } from './gateway.js';
import { logger } from './log.js';

/** Runs the gateway until SIGINT/SIGTERM; exits 1 with a one-line reason when it cannot start. */
export async function main(): Promise<void> {
  let gateway: RunningGateway;
  try {
    gateway = await start(process.env, { runCli });
  } catch (err) {
    process.stderr.write(`billing-gateway: ${startupFailureLine(err)}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
