// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { ApiKey } from './api-key.js';
import { connectionOf } from './connection.js';
import { InvoiceLine } from './invoice.js';
import { BillingSubscription } from './subscription.js';
import { ParkedWebhookEvent } from '../resolvers/parked-webhook-events.resolver.js';

export const BillingSubscriptionConnection = connectionOf(BillingSubscription, 'BillingSubscription', { one: 'a subscription', many: 'subscriptions' });
export const InvoiceLineConnection = connectionOf(InvoiceLine, 'InvoiceLine', { one: 'an invoice line', many: 'invoice lines' });
export const ApiKeyConnection = connectionOf(ApiKey, 'ApiKey', { one: 'an API key', many: 'API keys' });
export const ParkedWebhookEventConnection = connectionOf(ParkedWebhookEvent, 'ParkedWebhookEvent', { one: 'a parked webhook event', many: 'parked webhook events' });
