import type { Command } from 'commander';
import type { ApiKeyView } from '../../billing/api-keys/key-rows.js';
import { commandGroup, printJson, printLines, type CliContext } from '../common.js';

interface CreateOptions {
  customer: string;
  name: string;
  expires?: string;
  idempotencyKey?: string;
  json?: boolean;
}

interface ListOptions {
  customer?: string;
  json?: boolean;
}

const WHERE_HELP =
  "\nWorks on the gateway's database as an admin would (DATABASE_URL, or PGlite under DATA_DIR, which a running\n" +
  'sandbox gateway holds: stop it, or use DATABASE_URL). A running gateway sees a revoke within a second.';

export function apiKeyJson(k: ApiKeyView) {
  return {
    id: k.id,
    customerId: k.customerId,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    verifications: k.verifications,
  };
}

const keyLine = (k: ReturnType<typeof apiKeyJson>): string =>
  [k.id, `${k.prefix}…`, k.customerId, k.name, k.revokedAt ? `revoked ${k.revokedAt.slice(0, 10)}` : k.expiresAt ? `expires ${k.expiresAt.slice(0, 10)}` : 'active', k.lastUsedAt ? `last used ${k.lastUsedAt.slice(0, 19)}Z` : 'never used'].join('  ');

export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = commandGroup(program, 'keys', "Create, list and revoke customers' API keys (as an admin).").addHelpText('after', WHERE_HELP);

  keys
    .command('create')
    .description('Create an API key for a customer; its secret is printed once and never stored.')
    .requiredOption('--customer <id>', 'cus_… of a customer, or your externalId (the token `sub`)')
    .requiredOption('--name <name>', 'a name for the key, e.g. "production server"')
    .option('--expires <date>', 'ISO-8601 date-time after which the key answers EXPIRED')
    .option('--idempotency-key <key>', 'a repeat creates nothing and fails (the secret is never shown twice)')
    .option('--json', 'print { apiKey, secret } as JSON')
    .action(async (opts: CreateOptions) => {
      const [{ cliConfig }, { withDatabase, CLI_VIEWER }, { createApiKey }] = await Promise.all([
        import('../config.js'),
        import('../gateway.js'),
        import('../../billing/api-keys/create-api-key.js'),
      ]);
      const config = cliConfig();
      const created = await withDatabase(config, (em) =>
        createApiKey(em, config.sandbox, { viewer: CLI_VIEWER }, {
          name: opts.name,
          customerId: opts.customer,
          expiresAt: opts.expires ? new Date(opts.expires) : null,
          idempotencyKey: opts.idempotencyKey ?? null,
        }),
      );
      const apiKey = apiKeyJson(created.apiKey);
      if (opts.json) printJson({ apiKey, secret: created.secret });
      else printLines(`API key ${apiKey.id} for ${apiKey.customerId} (${apiKey.name})`, '', `  ${created.secret}`, '', 'Shown once: store it now; only its hash is kept.');
      ctx.outcome = 0;
    });

  keys
    .command('list')
    .description("List API keys (one customer's, or all), oldest first; secrets are never shown.")
    .option('--customer <id>', 'cus_… of a customer, or your externalId')
    .option('--json', 'print { keys } as JSON')
    .action(async (opts: ListOptions) => {
      const [{ cliConfig }, { withDatabase, CLI_VIEWER }, { apiKeysOfCustomers, listAllApiKeys }, { keyOwnerOf }] = await Promise.all([
        import('../config.js'),
        import('../gateway.js'),
        import('../../billing/api-keys/list-api-keys.js'),
        import('../../billing/api-keys/key-rows.js'),
      ]);
      const list = await withDatabase(cliConfig(), async (em) => {
        if (!opts.customer) return listAllApiKeys(em);
        const owner = await keyOwnerOf(em, { viewer: CLI_VIEWER }, opts.customer);
        return (await apiKeysOfCustomers(em, [owner.id]))[0]!;
      });
      const rows = list.map(apiKeyJson);
      if (opts.json) printJson({ keys: rows });
      else if (rows.length === 0) printLines('No API keys.');
      else printLines(...rows.map(keyLine), `${rows.length} key${rows.length === 1 ? '' : 's'}`);
      ctx.outcome = 0;
    });

  keys
    .command('revoke')
    .description('Revoke an API key for good (it stays listed, with its revocation time).')
    .argument('<id>', 'the key id (key_…)')
    .option('--json', 'print the revoked key as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const [{ cliConfig }, { withDatabase, CLI_VIEWER }, { revokeApiKey }] = await Promise.all([
        import('../config.js'),
        import('../gateway.js'),
        import('../../billing/api-keys/revoke-api-key.js'),
      ]);
      const key = apiKeyJson(await withDatabase(cliConfig(), (em) => revokeApiKey(em, { viewer: CLI_VIEWER }, id)));
      if (opts.json) printJson(key);
      else printLines(`Revoked ${key.id} (${key.prefix}…, ${key.name}) at ${key.revokedAt}`);
      ctx.outcome = 0;
    });
}
