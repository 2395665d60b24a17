/**
 * API keys behind GraphQL (one per request): key management for customers (their own keys) and
 * admins (anyone's), and verification for service and admin tokens. Verification itself lives in
 * the process-wide `KeyVerifier` (its caches and counters outlive a request).
 */
import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/core';
import { requireVerifier, type Authentication } from '../../auth/guard.js';
import { badUserInput, internalError } from '../../errors.js';
import { createApiKey, type ApiKeySecretView, type CreateApiKeyInput } from './create-api-key.js';
import type { ApiKeyView } from './key-rows.js';
import { apiKeysOfCustomers } from './list-api-keys.js';
import { revokeApiKey } from './revoke-api-key.js';
import { rollApiKey } from './roll-api-key.js';
import { checkVerifyInput } from './verify-input.js';
import type { KeyVerifier, VerificationView } from './verify-api-key.js';

export class ApiKeyService {
  private readonly byCustomer: DataLoader<string, ApiKeyView[]>;

  constructor(
    private readonly em: EntityManager,
    private readonly sandbox: boolean,
    private readonly verifier: KeyVerifier | undefined,
  ) {
    this.byCustomer = new DataLoader((ids) => apiKeysOfCustomers(em, ids));
  }

  create(auth: Authentication, input: CreateApiKeyInput): Promise<ApiKeySecretView> {
    return createApiKey(this.em, this.sandbox, auth, input);
  }

  async roll(auth: Authentication, id: string, idempotencyKey?: string | null): Promise<ApiKeySecretView> {
    const rolled = await rollApiKey(this.em, this.sandbox, auth, id, idempotencyKey);
    this.verifier?.forgetKey(id);
    return rolled;
  }

  async revoke(auth: Authentication, id: string): Promise<ApiKeyView> {
    const revoked = await revokeApiKey(this.em, auth, id);
    this.verifier?.forgetKey(id);
    return revoked;
  }

  /** The customer is already authorised (a Customer node the caller may see). */
  ofCustomer(customerId: string): Promise<ApiKeyView[]> {
    return this.byCustomer.load(customerId);
  }

  verify(auth: Authentication, input: { key: string; cost?: number | null; requestId?: string | null }): Promise<VerificationView> {
    requireVerifier(auth);
    // Every gateway server builds one; only a service built without the server lacks it.
    if (!this.verifier) throw internalError();
    return this.verifier.verify(checkVerifyInput(input, (field, message) => badUserInput(field, message)));
  }
}
