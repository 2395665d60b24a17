/**
 * Direct resolver calls: type-graphql calls a resolver method through `getParams`, which sorts the
 * parameters, maps each through a switch and, for any argument, awaits an `async` validation step
 * (off here: the schema is built with `validate: false`), so every resolver with an argument costs a
 * `Promise.all` and extra microtask turns (bench `read`: `Invoice.lines` ten times an answer). For a
 * resolver method with no middlewares and no `@Authorized` roles whose parameters are the root, the
 * context, the info and arguments of scalar or enum types (one by one or as an `@ArgsType` of such),
 * the schema field here calls the method directly with the same values type-graphql would pass:
 * `@Args()` as an instance of its class, `@Root()` as type-graphql converts it. Anything else (input
 * objects, custom decorators, a container-made class, class-validator) keeps type-graphql's wrapper.
 */
import { GraphQLObjectType, GraphQLScalarType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { getMetadataStorage, type BuildSchemaOptions } from 'type-graphql';

type Storage = ReturnType<typeof getMetadataStorage>;
type Param = NonNullable<Storage['fieldResolvers'][number]['params']>[number];
type Getter = (root: unknown, args: Record<string, unknown>, context: Record<string, unknown>, info: unknown) => unknown;

const SIMPLE = new Set<unknown>([String, Boolean, Number, Date, Array, Promise]);

/** type-graphql's `convertToType`, for targets that are not input types. */
function convertToType(Target: unknown, data: unknown): unknown {
  if (data == null || Target instanceof GraphQLScalarType) return data;
  if (SIMPLE.has((data as object).constructor)) return data;
  if (typeof Target !== 'function' || data instanceof Target) return data;
  if (Array.isArray(data)) return data.map((item) => convertToType(Target, item));
  const instance = new (Target as new () => Record<string, unknown>)();
  for (const key of Object.keys(instance)) {
    if (instance[key] === undefined && !(key in (data as object))) delete instance[key];
  }
  return Object.assign(instance, data);
}

/**
 * `built`: the options type-graphql built the schema with (its resolver classes: field resolvers of other
 * classes are not in it). With validation, a container or global middlewares, nothing is replaced.
 */
export function useDirectResolverCalls(schema: GraphQLSchema, built: Pick<BuildSchemaOptions, 'resolvers' | 'validate' | 'validateFn' | 'container' | 'globalMiddlewares'>): number {
  if (built.validate !== false || built.validateFn || built.container || (built.globalMiddlewares?.length ?? 0) > 0) return 0;
  const resolverClasses = built.resolvers as readonly Function[];
  const storage = getMetadataStorage();
  const inputTargets = new Set<unknown>(storage.inputTypes.map((t) => t.target));
  const argsTypes = new Map<Function, (typeof storage.argumentTypes)[number]>(storage.argumentTypes.map((t) => [t.target, t]));
  // A scalar or enum argument passes through type-graphql's conversion unchanged; an input object does not.
  const plainTarget = (target: unknown) => !inputTargets.has(target);

  function getterOf(p: Param): Getter | null {
    switch (p.kind) {
      case 'root': {
        const { propertyName, getType } = p;
        if (propertyName) return null;
        return getType ? (root) => convertToType(getType(), root) : (root) => root;
      }
      case 'context':
        return p.propertyName ? null : (_r, _a, context) => context;
      case 'info':
        return (_r, _a, _c, info) => info;
      case 'arg': {
        if (p.validateFn || p.validateSettings) return null;
        const target = p.getType();
        if (!plainTarget(target)) return null;
        const { name } = p;
        return (_r, args) => {
          const v = args[name];
          return Array.isArray(v) ? v.map((x) => convertToType(target, x)) : convertToType(target, v);
        };
      }
      case 'args': {
        if (p.validateFn || p.validateSettings) return null;
        const ArgsClass = p.getType() as Function;
        const meta = argsTypes.get(ArgsClass);
        // Inherited argument types: left to type-graphql.
        if (!meta?.fields || Object.getPrototypeOf(ArgsClass).prototype !== undefined) return null;
        const fields = meta.fields.map((f) => ({ name: f.name, target: f.getType() }));
        if (!fields.every((f) => plainTarget(f.target))) return null;
        return (_r, args) => {
          const values: Record<string, unknown> = {};
          for (const f of fields) {
            const v = args[f.name];
            if (v !== undefined) values[f.name] = Array.isArray(v) ? v.map((x) => convertToType(f.target, x)) : convertToType(f.target, v);
          }
          return convertToType(ArgsClass, values);
        };
      }
      default:
        return null;
    }
  }

  let replaced = 0;
  const instances = new Map<Function, object>();
  // As type-graphql picks them: the first field resolver of the build for a class and property.
  const taken = new Map<Function, Set<string>>();
  for (const r of storage.fieldResolvers) {
    if (r.kind !== 'internal' && !resolverClasses.includes(r.target)) continue;
    const objectClass = r.getObjectType?.();
    if (!objectClass) continue;
    const names = taken.get(objectClass) ?? new Set<string>();
    taken.set(objectClass, names);
    if (names.has(r.methodName)) continue;
    names.add(r.methodName);
    if (r.kind !== 'external' || r.roles !== undefined || (r.middlewares?.length ?? 0) > 0 || !r.params) continue;
    const objectMeta = storage.objectTypes.find((o) => o.target === objectClass);
    const type = objectMeta && schema.getType(objectMeta.name);
    if (!(type instanceof GraphQLObjectType)) continue;
    const field = type.getFields()[r.schemaName];
    if (!field?.resolve) continue;
    const getters = [...r.params].sort((a, b) => a.index - b.index).map(getterOf);
    if (getters.some((g) => g === null)) continue;
    // type-graphql's default container makes one instance per class with `new`; a class that needs arguments or holds state keeps its wrapper.
    const Target = r.target as new () => Record<string, (...a: unknown[]) => unknown>;
    if (Target.length !== 0) continue;
    let instance = instances.get(Target);
    if (!instance) {
      instance = new Target();
      if (Object.keys(instance).length > 0) continue;
      instances.set(Target, instance);
    }
    const method = (instance as Record<string, unknown>)[r.methodName];
    if (typeof method !== 'function') continue;
    const gs = getters as Getter[];
    const self = instance;
    const resolve: GraphQLFieldResolver<unknown, Record<string, unknown>> = (root, args, context, info) => {
      const values = new Array<unknown>(gs.length);
      for (let i = 0; i < gs.length; i++) values[i] = gs[i]!(root, args, context, info);
      return method.apply(self, values);
    };
    field.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
    replaced++;
  }
  return replaced;
}
