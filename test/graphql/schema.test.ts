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
    expect(sdl).toMatch(/^scalar DateTime @specifiedBy\(url: "https:\/\/datatracker.ietf.org\/doc\/html\/rfc3339"\)$/m);
    expect(sdl).toMatch(/^scalar JSONObject/m);
  });
});

describe('ErrorCode', () => {
  it('carries every extensions.code the error translator lets through, and each mutation lists its codes from it', async () => {
    const { buildGatewaySchema } = await import('../../src/graphql/schema.js');
    const { ERROR_CODES, REQUEST_ERROR_CODES } = await import('../../src/graphql/errors.js');
    const schema = await buildGatewaySchema();
    const errorCode = schema.getType('ErrorCode') as import('graphql').GraphQLEnumType;
    expect(errorCode).toBeDefined();
    const values = errorCode.getValues().map((v) => v.name);
    expect(values).toEqual(expect.arrayContaining([...ERROR_CODES, ...REQUEST_ERROR_CODES]));
    for (const v of errorCode.getValues()) expect(v.description, v.name).toBeTruthy();

    const mutations = Object.values(schema.getMutationType()!.getFields());
    expect(mutations.length).toBeGreaterThan(0);
    for (const field of mutations) {
      const m = /Errors: ([A-Z_, ]+)\.$/.exec(field.description ?? '');
      expect(m, `${field.name} lists its error codes`).not.toBeNull();
      for (const code of m![1]!.split(', ')) expect(values, `${field.name}: ${code}`).toContain(code);
    }
  });
});
