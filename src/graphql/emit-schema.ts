/**
 * Prints the SDL the resolvers produce. `npm run schema` writes it to `schema.graphql`
 * (committed); a test and CI fail when the committed file differs from `emitSchemaSdl()`.
 */
import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { PROJECT_ROOT } from '../paths.js';
import { buildGatewaySchema, type GatewaySchemaOptions } from './schema.js';

export const SCHEMA_FILE = join(PROJECT_ROOT, 'schema.graphql');

const HEADER = '# Generated from the resolvers by `npm run schema` (src/graphql/emit-schema.ts). Do not edit by hand.\n\n';

export async function emitSchemaSdl(options: GatewaySchemaOptions = {}): Promise<string> {
  return `${HEADER}${printSchema(await buildGatewaySchema(options))}\n`;
}

export async function writeSchemaFile(path = SCHEMA_FILE, options: GatewaySchemaOptions = {}): Promise<string> {
  const sdl = await emitSchemaSdl(options);
  writeFileSync(path, sdl);
  return sdl;
}

/** `--check`: exit 1 when schema.graphql is stale (CI); `--write` (default): regenerate it. */
async function cli(args: string[]): Promise<number> {
  if (args.includes('--check')) {
    const current = existsSync(SCHEMA_FILE) ? readFileSync(SCHEMA_FILE, 'utf8') : '';
    if (current === (await emitSchemaSdl())) {
      console.log('schema.graphql is current');
      return 0;
    }
    console.error('schema.graphql differs from what the resolvers emit; run `npm run schema` and commit the result');
    return 1;
  }
  const out = args.find((a) => !a.startsWith('--')) ?? SCHEMA_FILE;
  await writeSchemaFile(out);
  console.log(`wrote ${out}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`emit-schema: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
