import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emitSchemaSdl, SCHEMA_FILE, writeSchemaFile } from '../../src/graphql/emit-schema.js';

describe('schema.graphql', () => {
  it('is what the resolvers emit (regenerate: `npm run schema`, or UPDATE_SCHEMA=1 npx vitest run test/graphql/schema.test.ts)', async () => {
    if (process.env.UPDATE_SCHEMA === '1') await writeSchemaFile();
    const emitted = await emitSchemaSdl();
    expect(existsSync(SCHEMA_FILE)).toBe(true);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(emitted);
  });

  it('uses the contract scalar names', async () => {
    const sdl = await emitSchemaSdl();
    expect(sdl).toMatch(/^scalar DateTime$/m);
    expect(sdl).toMatch(/^scalar JSONObject/m);
  });
});
