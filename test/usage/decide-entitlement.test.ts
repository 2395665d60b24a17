/** The entitlement rule table for every access state (the HTTP tests reach NONE and GRACE today). */
import { describe, expect, it } from 'vitest';
import type { AccessStateValue } from '../../src/billing/access/access-state.js';
import { decideEntitlement } from '../../src/billing/usage/entitlements.js';

const FEATURES = new Set(['API access']);
const under = { included: 10, hardLimit: 20, used: 5 };
const over = { included: 10, hardLimit: null, used: 15 };
const capped = { included: 10, hardLimit: 20, used: 20 };

const decide = (access: AccessStateValue, feature: string, meter: typeof under | typeof over | null = null) =>
  decideEntitlement({ feature, access, planFeatures: FEATURES, meter });

describe('decideEntitlement', () => {
  it.each(['ACTIVE', 'TRIALING', 'GRACE'] as const)('%s: features and meters as the plan says', (state) => {
    expect(decide(state, 'API access')).toMatchObject({ allowed: true, reason: 'INCLUDED' });
    expect(decide(state, 'Other')).toMatchObject({ allowed: false, reason: 'NOT_IN_PLAN' });
    expect(decide(state, 'api_calls', under)).toMatchObject({ allowed: true, reason: 'WITHIN_INCLUDED', limit: 10, used: 5, remaining: 5, hardLimit: 20 });
    expect(decide(state, 'api_calls', over)).toMatchObject({ allowed: true, reason: 'OVERAGE_BILLED', remaining: 0 });
    expect(decide(state, 'api_calls', capped)).toMatchObject({ allowed: false, reason: 'LIMIT_REACHED' });
  });

  it('SOFT_SUSPENDED: plan features allowed, paid usage (meters) denied', () => {
    expect(decide('SOFT_SUSPENDED', 'API access')).toMatchObject({ allowed: true, reason: 'INCLUDED' });
    expect(decide('SOFT_SUSPENDED', 'api_calls', under)).toMatchObject({ allowed: false, reason: 'SOFT_SUSPENDED', used: 5 });
    expect(decide('SOFT_SUSPENDED', 'Other')).toMatchObject({ allowed: false, reason: 'NOT_IN_PLAN' });
  });

  it.each([
    ['SUSPENDED', 'SUSPENDED'],
    ['NONE', 'NO_SUBSCRIPTION'],
  ] as const)('%s: everything denied', (state, reason) => {
    for (const [feature, meter] of [['API access', null], ['api_calls', under], ['Other', null]] as const) {
      expect(decide(state, feature, meter)).toMatchObject({ allowed: false, reason });
    }
  });
});
