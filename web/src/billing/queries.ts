import { graphql } from '../gql';

export const BillingQuery = graphql(`
  query BillingPage {
    plans { id name selfServe interval price { formatted } features meters { meter included } }
    customer {
      id
      email
      accessState
      subscriptions(status: [ACTIVE, PAST_DUE, TRIALING, UNPAID, INCOMPLETE]) {
        id
        status
        quantity
        currentPeriodStart
        currentPeriodEnd
        cancelAtPeriodEnd
        trialEnd
        plan { id name interval price { formatted } features }
      }
      usage { meter quantity included overage periodEnd }
      invoices(first: 24) {
        edges {
          node { id number status createdAt total { formatted } amountDue { formatted } hostedInvoiceUrl pdfUrl }
        }
      }
    }
  }
`);

export const UpcomingQuery = graphql(`
  query BillingUpcoming($subscriptionId: ID!, $plan: ID, $prorationDate: DateTime) {
    upcomingInvoice(subscriptionId: $subscriptionId, plan: $plan, prorationDate: $prorationDate) {
      id
      total { formatted }
      amountDue { formatted }
      periodEnd
      lines { description amount { formatted } proration quantity periodStart }
    }
  }
`);

export const ChangePlanMutation = graphql(`
  mutation BillingChangePlan($input: ChangePlanInput!) {
    changePlan(input: $input) { id status plan { id name } latestInvoice { id total { formatted } } }
  }
`);

export const CancelMutation = graphql(`
  mutation BillingCancel($input: CancelInput!) {
    cancel(input: $input) { id cancelAtPeriodEnd status }
  }
`);

export const ResumeMutation = graphql(`
  mutation BillingResume($subscriptionId: ID!, $idempotencyKey: String) {
    resume(input: { subscriptionId: $subscriptionId, idempotencyKey: $idempotencyKey }) { id cancelAtPeriodEnd status }
  }
`);

export const PortalMutation = graphql(`
  mutation BillingPortal($input: CreatePortalSessionInput!) {
    createPortalSession(input: $input) { url }
  }
`);

export const SubscribeMutation = graphql(`
  mutation BillingSubscribe($input: SubscribeInput!) {
    subscribe(input: $input) { checkoutUrl subscription { id } }
  }
`);

export const ApiKeyFieldsFragment = graphql(`
  fragment ApiKeyFields on ApiKey { id name prefix createdAt lastUsedAt expiresAt revokedAt }
`);

export const ApiKeysQuery = graphql(`
  query BillingApiKeys {
    customer { id apiKeys { ...ApiKeyFields } }
  }
`);

export const CreateApiKeyMutation = graphql(`
  mutation BillingCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { secret apiKey { ...ApiKeyFields } }
  }
`);

export const RollApiKeyMutation = graphql(`
  mutation BillingRollApiKey($id: ID!, $idempotencyKey: String) {
    rollApiKey(input: { id: $id, idempotencyKey: $idempotencyKey }) { secret apiKey { ...ApiKeyFields } }
  }
`);

export const RevokeApiKeyMutation = graphql(`
  mutation BillingRevokeApiKey($id: ID!) {
    revokeApiKey(input: { id: $id }) { ...ApiKeyFields }
  }
`);
