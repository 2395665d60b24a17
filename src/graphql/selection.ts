/**
 * What a field's selection asks for, so a resolver can skip work no selected field needs. Errs on
 * the side of "selected": directives (`@skip`, `@include`) are ignored and unknown fragments count.
 */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** Whether any of `names` is selected directly under the resolved field (through fragments too). */
export function selectsAnyField(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, names: ReadonlySet<string>): boolean {
  const visit = (set: SelectionSetNode | undefined, seen: Set<string>): boolean => {
    if (!set) return false;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (names.has(sel.name.value)) return true;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (visit(sel.selectionSet, seen)) return true;
      } else {
        const name = sel.name.value;
        if (seen.has(name)) continue;
        const fragment = info.fragments[name];
        if (!fragment || visit(fragment.selectionSet, new Set(seen).add(name))) return true;
      }
    }
    return false;
  };
  return info.fieldNodes.some((node) => visit(node.selectionSet, new Set()));
}
