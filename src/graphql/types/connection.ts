// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import type { KeysetPage } from '../../db/keyset-page.js';
import { PageInfo } from './pagination.js';

/** The Relay page arguments, shared by every connection field. */
@ArgsType()
export class ConnectionArgs {
  @Field(() => Int, { nullable: true, description: 'Forward: at most this many items after `after` (1-100; default 20 when last is omitted too).' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "Forward: continue after this cursor (a previous page's pageInfo.endCursor)." })
  after?: string | null;

  @Field(() => Int, { nullable: true, description: 'Backward: at most this many items before `before` (1-100); when given, first is ignored.' })
  last?: number | null;

  @Field(() => String, { nullable: true, description: "Backward: continue before this cursor (a previous page's pageInfo.startCursor)." })
  before?: string | null;
}

/** What a connection object holds: its edges, its pageInfo, and a count run only when asked for. */
export interface ConnectionValue<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
  totalCount: Promise<number> | number;
  nodes: T[];
}

/**
 * A `<Name>Connection` and `<Name>Edge` pair for node type `node` (Relay's connection spec, plus
 * `nodes` for clients that need no cursors and a `totalCount` across every page).
 */
export function connectionOf<T extends object>(node: ClassType<T>, name: string, noun: { one: string; many: string }) {
  @ObjectType(`${name}Edge`, { description: `${capital(noun.one)} and its cursor.` })
  class Edge {
    @Field({ description: `Pass as after (or before) to continue past (or before) this item.` })
    cursor!: string;

    @Field(() => node, { description: `The ${strip(noun.one)}.` })
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${noun.many}.` })
  class Connection implements ConnectionValue<T> {
    @Field(() => [Edge], { description: `The ${noun.many} of this page, with their cursors.` })
    edges!: Edge[];

    @Field(() => [node], { description: `The ${noun.many} of this page, without cursors.` })
    nodes!: T[];

    @Field(() => PageInfo, { description: 'Where this page sits.' })
    pageInfo!: PageInfo;

    @Field(() => Int, { description: `${capital(noun.many)} matching the filter, across every page (counted only when asked for).` })
    totalCount!: Promise<number> | number;
  }
  return Connection;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "an invoice line" → "invoice line". */
function strip(s: string): string {
  return s.replace(/^(an?|the) /, '');
}

/** A connection object of `page`, its rows mapped to GraphQL nodes; `totalCount` is counted only when read. */
export function toConnectionValue<R, T>(page: KeysetPage<R>, toNode: (row: R) => T): ConnectionValue<T> {
  const edges = page.edges.map((e) => ({ cursor: e.cursor, node: toNode(e.node) }));
  let count: Promise<number> | undefined;
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: Object.assign(new PageInfo(), page.pageInfo),
    get totalCount() {
      return (count ??= page.totalCount());
    },
  };
}
