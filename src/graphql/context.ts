/**
 * The per-request GraphQL context: who is calling, a forked EntityManager (one identity map per
 * request, never shared), the request's DataLoaders and the services resolvers call.
 * Later issues add their services to `GatewayServices` and `createServices`.
 */
import { randomUUID } from 'node:crypto';
import type { Authentication } from '../auth/guard.js';
import type { Viewer } from '../auth/tokens.js';
import type { Catalog } from '../billing/catalog.js';
import { createCustomerLoaders, CustomerService, type CustomerLoaders } from '../billing/customers/customer-service.js';
import { createPriceLoaders, PlanService, type PriceLoaders } from '../billing/plans/plan-service.js';
import type { Config } from '../config.js';
import type { Em, Orm } from '../db/orm.js';

export type Loaders = CustomerLoaders & PriceLoaders;

export interface GatewayServices {
  plans: PlanService;
  customers: CustomerService;
}

/** What lives for the whole process and every request needs. */
export interface AppDeps {
  config: Config;
  orm: Orm;
  catalog: Catalog;
}

export interface GraphQLContext {
  requestId: string;
  /** The verified viewer, or null (see `auth.error` for why a sent token was rejected). */
  viewer: Viewer | null;
  auth: Authentication;
  em: Em;
  loaders: Loaders;
  services: GatewayServices;
  deps: AppDeps;
}

export function createLoaders(em: Em): Loaders {
  return { ...createCustomerLoaders(em), ...createPriceLoaders(em) };
}

export function createServices(deps: AppDeps, em: Em, loaders: Loaders): GatewayServices {
  return {
    plans: new PlanService(deps.catalog, loaders),
    customers: new CustomerService(em, loaders),
  };
}

export function createRequestContext(deps: AppDeps, auth: Authentication, requestId: string = randomUUID()): GraphQLContext {
  const em = deps.orm.em.fork();
  const loaders = createLoaders(em);
  return { requestId, viewer: auth.viewer, auth, em, loaders, services: createServices(deps, em, loaders), deps };
}
