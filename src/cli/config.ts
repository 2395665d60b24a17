import { loadConfig, type Config } from '../config.js';
import { CliError } from './shared.js';

/** The gateway's configuration from the environment; a bad variable fails the command (exit 1) with its message. */
export function cliConfig(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    throw new CliError((err as Error).message, 1);
  }
}
