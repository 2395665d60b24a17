import { loadConfig, persistDevSecret, type Config } from '../config.js';
import { logger } from '../log.js';
import { CliError } from './common.js';

/**
 * The gateway's configuration from the environment; a bad variable fails the command (exit 1) with its
 * message. `devSecret`: a command that mints tokens keeps a generated development secret (persistDevSecret).
 */
export function cliConfig(env: NodeJS.ProcessEnv = process.env, opts: { devSecret?: boolean } = {}): Config {
  let config: Config;
  try {
    config = loadConfig(env);
    if (opts.devSecret) config = persistDevSecret(config);
  } catch (err) {
    throw new CliError((err as Error).message, 1);
  }
  // The configured level (LOG_LEVEL), unless the command runs quiet: a one-shot command without LOG_LEVEL (./index.ts).
  if (logger.level !== 'silent') logger.level = config.logLevel;
  return config;
}
