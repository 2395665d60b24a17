import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { DashboardFeedSubscription, MrrFieldsFragment } from '../gql/graphql';
import { subscribe, wsClient } from '../lib/api';
import { FeedSubscription, MrrLiveSubscription } from './queries';

export type FeedEvent = DashboardFeedSubscription['billingEvents'];

interface Live {
  connected: boolean;
  events: FeedEvent[];
  /** The latest `mrrUpdated` report, or null until one arrives. */
  mrr: MrrFieldsFragment | null;
  error: string | null;
}

const MAX_EVENTS = 500;
const LiveContext = createContext<Live>({ connected: false, events: [], mrr: null, error: null });

/**
 * One graphql-ws connection for the whole dashboard, opened at sign-in: the feed keeps
 * collecting while the operator looks at other sections.
 */
export function LiveProvider({ token, children }: { token: string; children: ReactNode }) {
  const [live, setLive] = useState<Live>({ connected: false, events: [], mrr: null, error: null });
  useEffect(() => {
    const client = wsClient(token, (connected) => setLive((l) => ({ ...l, connected, ...(connected ? { error: null } : {}) })));
    const onError = (e: Error) => setLive((l) => ({ ...l, error: e.message }));
    const stopFeed = subscribe(
      client,
      FeedSubscription,
      {},
      (d) => setLive((l) => (l.events.some((e) => e.id === d.billingEvents.id) ? l : { ...l, events: [d.billingEvents, ...l.events].slice(0, MAX_EVENTS) })),
      onError,
    );
    const stopMrr = subscribe(client, MrrLiveSubscription, {}, (d) => setLive((l) => ({ ...l, mrr: d.mrrUpdated })), onError);
    return () => {
      stopFeed();
      stopMrr();
      // dispose() rejects when the socket was refused (e.g. 4401): that is already reported through onError.
      void Promise.resolve(client.dispose()).catch(() => undefined);
    };
  }, [token]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export const useLive = () => useContext(LiveContext);
