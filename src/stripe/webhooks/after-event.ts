/**
 * Several `afterEvent` hooks as one (signals, then dunning): each runs in order for every event, in the
 * same transaction; batch begin/end are passed to the hooks that have them.
 */
import type { AfterEventHook } from './worker.js';

export function chainAfterEvents(...hooks: (AfterEventHook | undefined)[]): AfterEventHook {
  const list = hooks.filter((h): h is AfterEventHook => h !== undefined);
  const chained: AfterEventHook = async (em, event) => {
    for (const hook of list) await hook(em, event);
  };
  const batched = list.filter((h) => h.batch);
  if (batched.length > 0) {
    chained.batch = {
      begin(em) {
        for (const h of batched) h.batch!.begin(em);
      },
      async end(em) {
        for (const h of batched) await h.batch!.end(em);
      },
    };
  }
  return chained;
}
