import { InvalidArgumentError, type Command } from 'commander';
import type { Role } from '../../auth/tokens.js';
import { parseDuration, printJson, type CliContext } from '../common.js';

interface TokenOptions {
  sub: string;
  role: Role;
  email?: string;
  expires: number;
  json?: boolean;
}

function parseRole(value: string): Role {
  if (value !== 'admin' && value !== 'customer' && value !== 'service') throw new InvalidArgumentError('expected "admin", "customer" or "service".');
  return value;
}

function parseSub(value: string): string {
  if (!value.trim() || value.length > 255) throw new InvalidArgumentError('expected a non-empty id of at most 255 characters.');
  return value;
}

export function registerToken(program: Command, ctx: CliContext): void {
  program
    .command('token')
    .description('Mint a JWT for the gateway, signed with AUTH_JWT_SECRET (or the development secret under DATA_DIR).')
    .requiredOption('--sub <id>', "the caller's id (Customer.externalId)", parseSub)
    .option('--role <role>', 'admin, customer, or service (may only verify API keys)', parseRole, 'customer' as Role)
    .option('--email <email>', 'email claim (used when the customer is created)')
    .option('--expires <duration>', 'lifetime, e.g. 30m, 1h, 7d', parseDuration, 30 * 86_400)
    .option('--json', 'print { token, sub, role, email, expiresAt } as JSON')
    .action(async (opts: TokenOptions) => {
      const [{ cliConfig }, { mintToken }] = await Promise.all([import('../config.js'), import('../../auth/tokens.js')]);
      const config = cliConfig(process.env, { devSecret: true });
      // Signed as the gateway verifies: its secret, with AUTH_ISSUER/AUTH_AUDIENCE when set.
      const token = await mintToken(config.auth, {
        sub: opts.sub,
        role: opts.role,
        ...(opts.email ? { email: opts.email } : {}),
        expiresIn: opts.expires,
      });
      if (opts.json) {
        const expiresAt = new Date((Math.floor(Date.now() / 1000) + opts.expires) * 1000).toISOString();
        printJson({ token, sub: opts.sub, role: opts.role, email: opts.email ?? null, expiresAt });
      } else {
        process.stdout.write(`${token}\n`);
      }
      ctx.outcome = 0;
    });
}
