import Stripe from 'stripe';
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '@billing-gateway/stripe-emulator';

/** An emulator on a free port and an SDK client pointed at it. */
export async function emulatorWithClient(
  options: StartEmulatorOptions = {},
  sdk: Stripe.StripeConfig = {},
): Promise<{ emu: RunningEmulator; stripe: Stripe }> {
  const emu = await startEmulator({ port: 0, ...options });
  const stripe = new Stripe('sk_test_emulator', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0, ...sdk });
  return { emu, stripe };
}

/** JSON POST/GET to the emulator's `/_emulator` controls. */
export async function control(emu: RunningEmulator, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${emu.url}/_emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json();
  if (!res.ok) throw Object.assign(new Error(`control ${path}: ${res.status}`), { status: res.status, body: json });
  return json;
}
