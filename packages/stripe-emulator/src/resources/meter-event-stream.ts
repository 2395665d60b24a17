import type { Emulator } from '../emulator.js';
import { StripeError } from '../errors.js';
import type { Router } from '../http/router.js';
import { newId, newSecret } from '../ids.js';
import { callApi } from '../pages/internal-api.js';
import type { Stored } from '../store.js';
import { findMeter } from './meters.js';

const SESSION_TTL_S = 15 * 60;
/** Events validated per turn of the event loop. */
const VALIDATE_SLICE = 10;

interface SessionRecord extends Stored {
  token: string;
  expires: number;
}

/** A v2 "thin" event: what `/v2/core/events` lists (Stripe sends these to event destinations). */
interface ThinEventRecord extends Stored {
  object: 'v2.core.event';
  type: string;
  created: string;
  livemode: false;
  context: null;
  reason: null;
  related_object: { id: string; type: string; url: string } | null;
  data: Record<string, unknown>;
}

const rfc3339 = (s: number) => new Date(s * 1000).toISOString();

function v2Error(status: number, type: string, message: string, code?: string): StripeError {
  return new StripeError(status, { type: type as 'invalid_request_error', message, ...(code ? { code } : {}) });
}

/**
 * The v2 high-throughput meter event API: `POST /v2/billing/meter_event_session` (secret key) hands
 * out a 15-minute token; `POST /v2/billing/meter_event_stream` (that token as Bearer, JSON body
 * `{ events: [{ event_name, payload, identifier?, timestamp? (RFC 3339) }] }`) accepts the events at
 * once and validates them afterwards, as Stripe does: each event goes through the same checks as
 * `POST /v1/billing/meter_events`, and a refused one is reported as a thin event
 * (`v1.billing.meter.no_meter_found` when no active meter has its `event_name`, else
 * `v1.billing.meter.error_report_triggered` on the meter), listed by `GET /v2/core/events`.
 */
export function registerMeterEventStream(router: Router, emu: Emulator): void {
  router.post('/v2/billing/meter_event_session', ({ params: p }) => {
    p.done();
    const now = emu.realNow();
    const session: SessionRecord = { id: newId('mes', 24), token: newSecret('mes_tok'), expires: now + SESSION_TTL_S };
    emu.store.insert('v2.billing.meter_event_session', session);
    return {
      id: session.id,
      object: 'v2.billing.meter_event_session',
      authentication_token: session.token,
      created: rfc3339(now),
      expires_at: rfc3339(session.expires),
      livemode: false,
    };
  });

  router.post(
    '/v2/billing/meter_event_stream',
    async ({ params: p, headers }) => {
      const token = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
      const session = token ? emu.store.all<SessionRecord>('v2.billing.meter_event_session').find((s) => s.token === token) : undefined;
      if (!session) throw v2Error(401, 'invalid_request_error', 'The meter event session token is missing or invalid.');
      if (session.expires <= emu.realNow()) {
        throw v2Error(401, 'invalid_request_error', 'The meter event session has expired; create a new one.', 'billing_meter_event_session_expired');
      }
      const events = p.objects('events', { required: true })!;
      const batch = events.map((e) => {
        const payload = e.object('payload', { required: true });
        return {
          event_name: e.string('event_name', { required: true }),
          payload: Object.fromEntries(Object.keys(payload.raw).map((k) => [k, payload.string(k) ?? ''])),
          identifier: e.string('identifier'),
          timestamp: e.string('timestamp'),
        };
      });
      p.done();
      // Accepted now, validated after the response (Stripe reports errors asynchronously).
      setImmediate(() => void validate(router, emu, batch));
      return {};
    },
    { auth: false },
  );

  router.get('/v2/core/events', ({ params: p }) => {
    const objectId = p.string('object_id');
    p.string('limit');
    p.done();
    const data = [...emu.store.all<ThinEventRecord>('v2.core.event')]
      .reverse()
      .filter((e) => !objectId || e.related_object?.id === objectId)
      .map(({ data: _data, ...summary }) => summary);
    return { data, next_page_url: null, previous_page_url: null };
  });

  router.get('/v2/core/events/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require<ThinEventRecord>('v2.core.event', path.id!, 'event');
  });
}

async function validate(
  router: Router,
  emu: Emulator,
  batch: { event_name: string; payload: Record<string, string>; identifier: string | undefined; timestamp: string | undefined }[],
): Promise<void> {
  for (let i = 0; i < batch.length; i++) {
    // In slices, between other requests: a large batch must not hold up the emulator's event loop.
    if (i > 0 && i % VALIDATE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const e = batch[i]!;
    const meter = findMeter(emu, { eventName: e.event_name });
    if (!meter || meter.status !== 'active') {
      emitThin(emu, 'v1.billing.meter.no_meter_found', null, errorData('meter_event_no_meter_found', `No active meter was found for event_name ${e.event_name}.`, e.identifier));
      continue;
    }
    const seconds = e.timestamp ? Math.floor(Date.parse(e.timestamp) / 1000) : undefined;
    try {
      await callApi(router, emu, 'POST', '/v1/billing/meter_events', {
        event_name: e.event_name,
        payload: e.payload,
        ...(e.identifier ? { identifier: e.identifier } : {}),
        ...(seconds !== undefined && Number.isFinite(seconds) ? { timestamp: seconds } : {}),
      });
    } catch (err) {
      if (!(err instanceof StripeError)) throw err;
      const customerKey = meter.customer_mapping.event_payload_key;
      const code = e.payload[customerKey] === undefined ? 'meter_event_no_customer_defined' : 'meter_event_invalid_value';
      emitThin(
        emu,
        'v1.billing.meter.error_report_triggered',
        { id: meter.id, type: 'billing.meter', url: `/v1/billing/meters/${meter.id}` },
        errorData(code, err.message, e.identifier),
      );
    }
  }
  emu.store.changed();
}

function errorData(code: string, message: string, identifier: string | undefined): Record<string, unknown> {
  return {
    developer_message_summary: message,
    reason: { error_count: 1, error_types: [{ code, error_count: 1, sample_errors: [{ error_message: message, request: { identifier: identifier ?? '' } }] }] },
  };
}

function emitThin(emu: Emulator, type: string, related: ThinEventRecord['related_object'], data: Record<string, unknown>): void {
  const now = emu.realNow();
  emu.store.insert('v2.core.event', {
    id: newId('evt', 24),
    object: 'v2.core.event',
    type,
    created: rfc3339(now),
    livemode: false,
    context: null,
    reason: null,
    related_object: related,
    data: { ...data, validation_start: rfc3339(now), validation_end: rfc3339(now) },
  } satisfies ThinEventRecord);
}
