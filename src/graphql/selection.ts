/**
 * What a field's selection asks for, so a resolver can skip work no selected field needs. Errs on
 * the side of "selected": directives (`@skip`, `@include`) are ignored and unknown fragments count.
 */
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

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

/** The fields named `name` directly under `set` (through fragments), e.g. every alias of `invoices`. */
export function fieldsNamed(set: SelectionSetNode | undefined, fragments: GraphQLResolveInfo['fragments'], name: string): FieldNode[] {
  const out: FieldNode[] = [];
  const visit = (s: SelectionSetNode | undefined, seen: Set<string>) => {
    if (!s) return;
    for (const sel of s.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value === name) out.push(sel);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        visit(sel.selectionSet, seen);
      } else if (!seen.has(sel.name.value)) {
        visit(fragments[sel.name.value]?.selectionSet, new Set(seen).add(sel.name.value));
      }
    }
  };
  visit(set, new Set());
  return out;
}

/** Whether the field path `path` (e.g. `edges`, `node`, `lines`) is selected under the resolved field. */
export function selectsPath(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, path: readonly string[]): boolean {
  let nodes: readonly FieldNode[] = info.fieldNodes;
  for (const name of path) {
    nodes = nodes.flatMap((node) => fieldsNamed(node.selectionSet, info.fragments, name));
    if (nodes.length === 0) return false;
  }
  return true;
}

/** Whether the invoice connection `info` resolves selects its invoices' lines (a page that shows them reads them with its invoices). */
export const invoicePageWantsLines = (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): boolean => selectsPath(info, ['edges', 'node', 'lines']);
