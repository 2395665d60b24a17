/**
 * A Stripe client that may make at most `max` API calls: the per-request backstop behind the static
 * Stripe-call limit of the GraphQL limits (src/graphql/limits.ts), so no request makes more calls than
 * the budget even where a field's declared count falls short. Each call of a resource method (`create`,
 * `retrieve`, `list`, …) counts once; the call past the budget is rejected with RATE_LIMITED before it is sent.
 *
 * Hand-written (a Proxy over the SDK's resource objects): the SDK has no per-call hook that can refuse
 * a request, and its `request` event is per client, not per GraphQL request.
 */
import type Stripe from 'stripe';
import { AppError } from '../errors.js';

export class StripeCallBudget {
  #used = 0;
  constructor(readonly max: number) {}

  get used(): number {
    return this.#used;
  }

  /** Counts one call, or throws when the budget is spent. */
  take(): void {
    if (this.#used >= this.max) {
      throw new AppError('RATE_LIMITED', `This request reached its limit of ${this.max} Stripe calls; send fewer billing operations per request`, {
        limit: 'stripeCalls',
        maxStripeCalls: this.max,
      });
    }
    this.#used++;
  }
}

/** A resource of the SDK (an object whose methods make API requests): it has a `resourcePath`. */
function isResource(value: object): boolean {
  return typeof (value as { resourcePath?: unknown }).resourcePath === 'string';
}

/** `stripe` seen through `budget`: the same client, every resource method call counted. */
export function withCallBudget(stripe: Stripe, budget: StripeCallBudget): Stripe {
  const proxies = new WeakMap<object, object>();
  const wrap = <T extends object>(target: T): T => {
    let proxy = proxies.get(target);
    if (!proxy) {
      const resource = isResource(target);
      proxy = new Proxy(target, {
        get(t, prop) {
          const value: unknown = Reflect.get(t, prop, t);
          if (typeof value === 'function') {
            if (!resource) return value;
            return (...args: unknown[]) => {
              try {
                budget.take();
              } catch (err) {
                // A rejected promise, as the SDK's own failures are (`.catch` on the call must see it).
                return Promise.reject(err);
              }
              return (value as (...a: unknown[]) => unknown).apply(t, args);
            };
          }
          // Namespaces (`billingPortal.sessions`, `testHelpers.testClocks`) and resources.
          return value && typeof value === 'object' && typeof prop === 'string' && !prop.startsWith('_') ? wrap(value) : value;
        },
      });
      proxies.set(target, proxy);
    }
    return proxy as T;
  };
  return wrap(stripe);
}
