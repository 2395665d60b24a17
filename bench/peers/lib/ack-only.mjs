/**
 * Loaded into the gateway's process (`node --import`) by the webhooks comparison's `gateway-ack-only`
 * system: the webhook worker is never started, so a run measures what acknowledging costs alone (the
 * route, the signature, the inbox insert and its commit). Every figure of the full gateway is this
 * plus applying the events: it is the ceiling of any processing behind the same acknowledgement.
 */
import { WebhookWorker } from '../../../dist/src/stripe/webhooks/worker.js';

WebhookWorker.prototype.start = function start() {};
