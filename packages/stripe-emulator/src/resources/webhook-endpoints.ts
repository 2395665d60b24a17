import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newId, newSecret } from '../ids.js';
import { newestFirst, paginate } from '../list.js';
import type { WebhookEndpointRecord } from '../webhooks/delivery.js';
import { isEventType } from '../validation.js';
import { mergeMetadata } from './common.js';

/**
 * `/v1/webhook_endpoints`. The signing secret is shown only in the create response, as at Stripe,
 * and kept in its own kind. Emulator extension: `secret=whsec_…` on create chooses it (so a configured
 * STRIPE_WEBHOOK_SECRET works); otherwise the `webhookSecret` option, else a new one.
 */
export function registerWebhookEndpoints(router: Router, emu: Emulator): void {
  router.post('/v1/webhook_endpoints', ({ params: p }) => {
    const url = readUrl(p, true)!;
    const enabledEvents = readEnabledEvents(p, true)!;
    const apiVersion = p.string('api_version');
    p.bool('connect');
    const description = p.string('description');
    const metadata = p.metadata();
    const secret = p.string('secret');
    p.done();
    if (secret !== undefined && !/^whsec_\S+$/.test(secret)) {
      throw invalidRequest('secret must start with whsec_ and have no spaces.', 'secret', 'parameter_invalid');
    }
    const endpoint: WebhookEndpointRecord = {
      id: newId('we', 24),
      object: 'webhook_endpoint',
      api_version: apiVersion ?? null,
      application: null,
      created: emu.realNow(),
      description: description ?? null,
      enabled_events: enabledEvents,
      livemode: false,
      metadata: mergeMetadata({}, metadata),
      status: 'enabled',
      url,
    };
    const signingSecret = secret ?? emu.options.webhookSecret ?? newSecret('whsec');
    emu.store.insert('webhook_endpoint', endpoint);
    emu.store.insert('webhook_endpoint_secret', { id: endpoint.id, secret: signingSecret });
    return { ...endpoint, secret: signingSecret };
  });

  router.get('/v1/webhook_endpoints/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require<WebhookEndpointRecord>('webhook_endpoint', path.id!, 'webhook endpoint');
  });

  router.post('/v1/webhook_endpoints/:id', ({ params: p, path }) => {
    const endpoint = emu.store.require<WebhookEndpointRecord>('webhook_endpoint', path.id!, 'webhook endpoint');
    const url = readUrl(p, false);
    const enabledEvents = readEnabledEvents(p, false);
    const description = p.nullableString('description');
    const disabled = p.bool('disabled');
    const metadata = p.metadata();
    p.done();
    if (url !== undefined) endpoint.url = url;
    if (enabledEvents !== undefined) endpoint.enabled_events = enabledEvents;
    if (description !== undefined) endpoint.description = description;
    if (disabled !== undefined) endpoint.status = disabled ? 'disabled' : 'enabled';
    endpoint.metadata = mergeMetadata(endpoint.metadata, metadata);
    emu.store.changed();
    return endpoint;
  });

  router.delete('/v1/webhook_endpoints/:id', ({ params: p, path }) => {
    p.done();
    const endpoint = emu.store.require<WebhookEndpointRecord>('webhook_endpoint', path.id!, 'webhook endpoint');
    emu.store.delete('webhook_endpoint', endpoint.id);
    emu.store.delete('webhook_endpoint_secret', endpoint.id);
    return { id: endpoint.id, object: 'webhook_endpoint', deleted: true };
  });

  router.get('/v1/webhook_endpoints', ({ params: p, url }) => {
    const page = paginate(newestFirst(emu.store.all<WebhookEndpointRecord>('webhook_endpoint')), p, url);
    p.done();
    return page;
  });
}

function readUrl(p: Params, required: boolean): string | undefined {
  const url = required ? p.string('url', { required: true }) : p.string('url');
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidRequest('Invalid URL: URL must be formatted like https://example.com/path', 'url', 'url_invalid');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidRequest('Invalid URL: must be an http or https URL', 'url', 'url_invalid');
  }
  return url;
}

function readEnabledEvents(p: Params, required: boolean): string[] | undefined {
  if (required && !p.has('enabled_events')) {
    p.strings('enabled_events');
    throw invalidRequest('Missing required param: enabled_events.', 'enabled_events', 'parameter_missing');
  }
  const events = p.strings('enabled_events');
  if (events === undefined) return undefined;
  if (events.length === 0) throw invalidRequest('enabled_events must not be empty.', 'enabled_events', 'parameter_invalid');
  events.forEach((e, i) => {
    if (e !== '*' && !isEventType(e)) {
      throw invalidRequest(`Invalid enabled_events[${i}]: '${e}' is not a valid event type; use '*' or an event type such as 'customer.created'`, `enabled_events[${i}]`, 'parameter_invalid');
    }
  });
  return [...new Set(events)];
}
