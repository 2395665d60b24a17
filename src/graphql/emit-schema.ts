/**
 * Prints the SDL the resolvers produce. `npm run schema` writes it to `schema.graphql`
 * (committed); a test and CI fail when the committed file differs from `emitSchemaSdl()`.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeSchemaFile(process.argv[2] ?? SCHEMA_FILE).then(
    () => console.log(`wrote ${process.argv[2] ?? SCHEMA_FILE}`),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
