import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { API_KEY_CHANGES_TRIGGERS } from './api-key-change.js';

export type DunningCaseStatus = 'open' | 'closed';

/** One escalation step as stored on a case: what to do, how many days after the first failure. */
export interface DunningCaseStep {
  action: string;
  day: number;
}

/**
 * A failed-payment escalation for one invoice. At most one open case per invoice (partial unique index).
 * `step` counts the escalation steps applied (0 = opened, nothing sent yet). The schedule is copied
 * onto the case when it opens (a changed DUNNING_SCHEDULE applies to new cases), with the moments
 * access is restricted (`softSuspendAt`, `suspendAt`), on the customer's clock.
 */
export const DunningCaseSchema = defineEntity({
  name: 'DunningCase',
  tableName: 'dunning_cases',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    customerId: p.text().index('dunning_cases_customer_id_index'),
    invoiceId: p.text(),
    subscriptionId: p.text().nullable(),
    status: p.enum(['open', 'closed'] as const).default('open'),
    step: p.integer().default(0),
    /** Payment attempts Stripe reported so far. */
    attempt: p.integer().default(0),
    openedAt: p.datetime(),
    closedAt: p.datetime().nullable(),
    nextStepAt: p.datetime().nullable(),
    schedule: p.json<DunningCaseStep[]>().default('[]'),
    softSuspendAt: p.datetime().nullable(),
    suspendAt: p.datetime().nullable(),
    /** Why a closed case closed: the invoice became `paid`, `void` or `uncollectible`. */
    closeReason: p.text().nullable(),
    updatedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()).onUpdate(() => new Date()),
  },
  indexes: [{ name: 'dunning_cases_status_next_step_at_index', properties: ['status', 'nextStepAt'] }],
  uniques: [{ name: 'dunning_cases_open_invoice_unique', properties: ['invoiceId'], where: "status = 'open'" }],
  triggers: [API_KEY_CHANGES_TRIGGERS.byCustomerId],
});

export class DunningCase extends DunningCaseSchema.class {}
DunningCaseSchema.setClass(DunningCase);
