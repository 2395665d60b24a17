import type * as SyncEngine from '@supabase/stripe-sync-engine';

export declare const engine: typeof SyncEngine;
export declare function peerSync(databaseUrl: string, apiBase: string, revalidate: boolean, webhookSecret: string): InstanceType<typeof SyncEngine.StripeSync>;
