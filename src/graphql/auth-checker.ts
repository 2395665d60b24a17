/**
 * Declarative authorisation: `@Authorized('admin')`, `@Authorized('customer', 'admin')`, … on a
 * resolver field lists the roles (src/auth/guard.ts `Access`) that may call it; this checker enforces
 * the list before the resolver runs (for a subscription, before it subscribes). A refusal throws the
 * guard's own error, so clients see the same UNAUTHENTICATED / FORBIDDEN code and message as from a
 * service. Whether a customer may touch a given object depends on data and stays in the services.
 */
import type { AuthChecker } from 'type-graphql';
import { authorize, type Access } from '../auth/guard.js';
import type { GraphQLContext } from './context.js';

export const gatewayAuthChecker: AuthChecker<GraphQLContext, Access> = ({ context }, roles) => {
  // An empty list would read as "anyone signed in", which no field means: every declaration names its roles.
  if (roles.length === 0) throw new Error('@Authorized() needs the roles it lets in');
  authorize(context.auth, roles);
  return true;
};
