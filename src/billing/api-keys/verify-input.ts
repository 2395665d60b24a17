/** The shape of a verification request, shared by POST /v1/keys/verify (400) and Query.verifyApiKey (BAD_USER_INPUT). */
import { MAX_COST, MAX_REQUEST_ID_LENGTH, type VerifyInput } from './verify-api-key.js';

const MAX_KEY_LENGTH = 256;

export function checkVerifyInput(body: unknown, fail: (field: string, message: string) => Error): VerifyInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail('body', 'The body must be a JSON object: {"key": "...", "cost": 1, "requestId": "..."}');
  const { key, cost, requestId } = body as Record<string, unknown>;
  if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH) throw fail('key', `key is required: a string of 1-${MAX_KEY_LENGTH} characters`);
  if (cost !== undefined && cost !== null && (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1 || cost > MAX_COST)) {
    throw fail('cost', `cost must be a whole number from 1 to ${MAX_COST.toLocaleString('en-US')}`);
  }
  if (requestId !== undefined && requestId !== null && (typeof requestId !== 'string' || requestId === '' || requestId.length > MAX_REQUEST_ID_LENGTH)) {
    throw fail('requestId', `requestId must be a string of 1-${MAX_REQUEST_ID_LENGTH} characters`);
  }
  return { key, cost: (cost as number | null | undefined) ?? 1, requestId: (requestId as string | null | undefined) ?? null };
}
