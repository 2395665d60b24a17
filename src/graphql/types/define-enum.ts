import { registerEnumType } from 'type-graphql';

/** Each GraphQL value (in schema order) with what resolvers hold and the value's description. */
export type EnumValues = Record<string, readonly [value: string, description: string]>;

/** A GraphQL enum declared once: registered with type-graphql, answered as `{ NAME: value }`. */
export function defineEnum<const V extends EnumValues>(name: string, description: string, values: V): { readonly [K in keyof V]: V[K][0] } {
  const entries = Object.entries(values);
  const enumObject: Record<string, string> = Object.fromEntries(entries.map(([key, [value]]) => [key, value]));
  const valuesConfig = Object.fromEntries(entries.map(([key, [, text]]) => [key, { description: text }]));
  registerEnumType(enumObject, { name, description, valuesConfig });
  return enumObject as { readonly [K in keyof V]: V[K][0] };
}

/** The values of an enum made by `defineEnum`, as a type. */
export type ValueOf<T> = T[keyof T];
