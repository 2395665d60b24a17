import type { AddressInfo } from 'node:net';
import { Emulator, type EmulatorOptions } from './emulator.js';
import { EmulatorHttp } from './http/server.js';
import { Router } from './http/router.js';
import { registerRoutes } from './routes.js';

export { Emulator, API_VERSION, type CloseHook, type EmulatorOptions, type FaultSpec } from './emulator.js';
export type { ChaosSpec } from './webhooks/chaos.js';
// Test controls: deterministic chaos (seeded order), request holds, and Stripe's period arithmetic.
export { seededRandom, shuffle } from './webhooks/chaos.js';
export type { HoldSpec } from './http/holds.js';
export { addIntervals, type Interval } from './billing/periods.js';
export type { DeliveryAttempt, WebhookRetryOptions } from './webhooks/delivery.js';
export { meterUsage, type MeterEventRecord } from './resources/meters.js';

export interface StartEmulatorOptions extends EmulatorOptions {
  /** 0 picks a free port. Default 12111. */
  port?: number;
  host?: string;
}

export interface RunningEmulator {
  /** e.g. `http://127.0.0.1:12111`: give it to the SDK as host/port/protocol, or as STRIPE_API_BASE. */
  url: string;
  port: number;
  emulator: Emulator;
  http: EmulatorHttp;
  /** The signing secret of the `forwardTo` deliveries (the `webhookSecret` option, or a generated one). */
  forwardSecret: string | null;
  close(): Promise<void>;
}

/**
 * Starts the offline Stripe: an HTTP server that the official `stripe` SDK talks to unchanged
 * (`new Stripe(key, { host, port, protocol: 'http' })`). Independent of the gateway.
 */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const emulator = new Emulator(options);
  const router = new Router();
  registerRoutes(router, emulator);
  const http = new EmulatorHttp(emulator, router);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(options.port ?? 12111, host, () => resolve());
  });
  const port = (http.server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  emulator.baseUrl = url;
  return {
    url,
    port,
    emulator,
    http,
    forwardSecret: emulator.webhooks.forward?.secret ?? null,
    async close() {
      await new Promise<void>((resolve) => {
        if (!http.server.listening) return resolve();
        http.server.close(() => resolve());
        http.server.closeAllConnections();
      });
      await emulator.close();
    },
  };
}
