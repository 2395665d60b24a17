import { InvalidArgumentError, type Command } from 'commander';
import type { Role } from '../../auth/tokens.js';
import type { CliContext } from '../index.js';
import { CliError, parseDuration, printJson } from '../shared.js';

interface TokenOptions {
  sub: string;
  role: Role;
  email?: string;
  expires: number;
  json?: boolean;
}

function parseRole(value: string): Role {
  if (value !== 'admin' && value !== 'customer') throw new InvalidArgumentError('expected "admin" or "customer".');
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
    .option('--role <role>', 'admin or customer', parseRole, 'customer' as Role)
    .option('--email <email>', 'email claim (used when the customer is created)')
    .option('--expires <duration>', 'lifetime, e.g. 30m, 1h, 7d', parseDuration, 30 * 86_400)
    .option('--json', 'print { token, sub, role, email, expiresAt } as JSON')
    .action(async (opts: TokenOptions) => {
      const [{ cliConfig }, { signDevToken }] = await Promise.all([import('../config.js'), import('../../auth/tokens.js')]);
      const config = cliConfig();
      const secret = config.auth.jwtSecret;
      if (!secret) {
        throw new CliError('token: AUTH_JWT_SECRET is not set (with AUTH_JWKS_URL, tokens come from your identity provider)');
      }
      const token = await signDevToken(
        {
          sub: opts.sub,
          role: opts.role,
          ...(opts.email ? { email: opts.email } : {}),
          expiresIn: opts.expires,
          ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
          ...(config.auth.audience ? { audience: config.auth.audience } : {}),
        },
        secret,
      );
      if (opts.json) {
        const expiresAt = new Date((Math.floor(Date.now() / 1000) + opts.expires) * 1000).toISOString();
        printJson({ token, sub: opts.sub, role: opts.role, email: opts.email ?? null, expiresAt });
      } else {
        process.stdout.write(`${token}\n`);
      }
      ctx.outcome = 0;
    });
}
