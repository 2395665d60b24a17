import { defineEntity, p } from '@mikro-orm/core';

/** Small persisted key/value state, e.g. the `events.list` cursor or the sandbox test clock id. */
export const SyncStateSchema = defineEntity({
  name: 'SyncState',
  tableName: 'sync_state',
  properties: {
    key: p.text().primary(),
    value: p.text(),
    updatedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class SyncState extends SyncStateSchema.class {}
SyncStateSchema.setClass(SyncState);
