import { defineEntity, p } from '@mikro-orm/core';
import { API_KEY_CHANGES_TRIGGERS } from './api-key-change.js';

/**
 * Mirror of a Stripe test clock (sandbox): the customer's clock for every time rule of ours
 * (`src/billing/clock/customer-clock.ts`). `frozenTime` only moves forward (events may arrive out of
 * order); a deleted clock keeps its row, marked deleted.
 */
export const TestClockSchema = defineEntity({
  name: 'TestClock',
  tableName: 'test_clocks',
  properties: {
    /** clock_… */
    id: p.text().primary(),
    frozenTime: p.datetime(),
    /** ready | advancing | internal_failure (Stripe's statuses). */
    status: p.text(),
    name: p.text().nullable(),
    deleted: p.boolean().default(false),
    updatedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()).onUpdate(() => new Date()),
  },
  triggers: [API_KEY_CHANGES_TRIGGERS.testClocks],
});

export class TestClock extends TestClockSchema.class {}
TestClockSchema.setClass(TestClock);
