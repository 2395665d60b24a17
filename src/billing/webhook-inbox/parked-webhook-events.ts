/**
 * Admins' view of the Stripe webhook events the worker gave up on after repeated failures, and the
 * way to queue one for processing again (the same inbox the CLI reads).
 */
import type { Em } from '../../db/orm.js';
import { AppError, badUserInput } from '../../errors.js';
import { listParkedEvents, requeueParkedEvent, type ParkedEvent } from '../../stripe/webhooks/inbox.js';

export type { ParkedEvent };

const MAX_LIST = 500;

export class ParkedWebhookEvents {
  constructor(private readonly em: Em) {}

  /** Newest first (by receipt), at most `first` (1-500). */
  list(first: number): Promise<ParkedEvent[]> {
    if (first < 1 || first > MAX_LIST) throw badUserInput('first', `first must be between 1 and ${MAX_LIST}`);
    return listParkedEvents(this.em, { limit: first });
  }

  /** Back in the queue with its attempts reset; NOT_FOUND when no parked event has this id. */
  async retry(id: string): Promise<void> {
    if (!(await requeueParkedEvent(this.em, id))) throw new AppError('NOT_FOUND', `No parked webhook event ${id}`);
  }
}
