/**
 * Plain field resolution: type-graphql gives every `@Field` of an object type a resolver of its
 * own (a closure that builds the resolver data and runs the field's middlewares, none here, to read
 * `root[name]`), so graphql-js calls a wrapper for each of the ~110 fields of a read's answer (Money
 * amounts, invoice lines, edges). A field that type-graphql would only read from its root this way
 * gets graphql-js's default resolver instead, which reads the same property. What keeps a wrapper:
 * a `@FieldResolver`, `@Authorized` roles, middlewares, a property named differently from the field,
 * or a property that may hold a Promise (`mayHoldPromise`).
 */
import 'reflect-metadata';
import { GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { getMetadataStorage, type BuildSchemaOptions } from 'type-graphql';

/**
 * Whether a property may hold a Promise (a count made only when asked for): its declared type is a
 * union or unknown, which TypeScript's decorator metadata records as `Object`. graphql-js awaits any
 * value, but graphql-jit (./jit-queries.ts) reads a field without a resolver as a plain value, so
 * such a field keeps one. Primitives, arrays and classes do not.
 */
function mayHoldPromise(target: Function, property: string): boolean {
  const type: unknown = Reflect.getMetadata('design:type', target.prototype as object, property);
  return type === undefined || type === Object || type === Promise;
}

type FieldMeta = { target: Function; name: string; schemaName: string; roles?: unknown[]; middlewares?: unknown[] };

/**
 * Clears the resolver of every plain field of `schema` (built by type-graphql from the global metadata
 * with `built`); returns how many. Global middlewares would run on every field: then nothing is cleared.
 */
export function usePlainFieldResolution(schema: GraphQLSchema, built: Pick<BuildSchemaOptions, 'globalMiddlewares'>): number {
  if ((built.globalMiddlewares?.length ?? 0) > 0) return 0;
  const storage = getMetadataStorage();
  // Any field resolver for a (class, property), in any resolver class: such a field always keeps its resolver.
  const resolved = new Map<Function, Set<string>>();
  for (const r of storage.fieldResolvers) {
    const target = r.getObjectType?.();
    if (!target) continue;
    let names = resolved.get(target);
    if (!names) resolved.set(target, (names = new Set()));
    names.add(r.methodName);
  }
  const interfaces = new Map<Function, FieldMeta[]>();
  for (const i of storage.interfaceTypes) interfaces.set(i.target, (i.fields ?? []) as FieldMeta[]);

  let cleared = 0;
  for (const objectType of storage.objectTypes) {
    const type = schema.getType(objectType.name);
    if (!(type instanceof GraphQLObjectType) || !objectType.fields) continue;
    // A class extending another object type: its inherited fields come another way; leave it as built.
    const parent = Object.getPrototypeOf(objectType.target) as Function;
    if (parent.prototype !== undefined && storage.objectTypes.some((o) => o.target === parent)) continue;
    // As type-graphql merges them: the interfaces' fields first, the class's own override them.
    const metas = new Map<string, FieldMeta>();
    for (const i of objectType.interfaceClasses ?? []) for (const f of interfaces.get(i) ?? []) metas.set(f.schemaName, f);
    for (const f of objectType.fields as FieldMeta[]) metas.set(f.schemaName, f);
    const fields = type.getFields();
    for (const [fieldName, field] of Object.entries(fields)) {
      const meta = metas.get(fieldName);
      if (!meta || !field.resolve || mayHoldPromise(meta.target, meta.name)) continue;
      // `@Authorized()` without roles is `roles: []`, still checked: any roles array keeps the wrapper.
      if (meta.name !== meta.schemaName || meta.roles !== undefined || (meta.middlewares?.length ?? 0) > 0) continue;
      if (resolved.get(meta.target)?.has(meta.name)) continue;
      field.resolve = undefined;
      cleared++;
    }
  }
  return cleared;
}
