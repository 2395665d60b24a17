import { graphql } from '../gql';

// Every operation the dashboard sends: typed from schema.graphql by GraphQL Code Generator.

export const MrrFieldsFragment = graphql(`
  fragment MrrFields on MrrReport {
    asOf
    totals { amount currency formatted }
    activeSubscriptions
    newThisMonth { amount currency formatted }
    churnedThisMonth { amount currency formatted }
    netNewThisMonth { amount currency formatted }
    byPlan { plan { id name } mrr { amount currency formatted } subscriptions }
  }
`);

export const OverviewQuery = graphql(`
  query DashboardOverview {
    mrr { ...MrrFields }
  }
`);

export const MrrLiveSubscription = graphql(`
  subscription DashboardMrrLive {
    mrrUpdated { ...MrrFields }
  }
`);

export const FeedSubscription = graphql(`
  subscription DashboardFeed {
    billingEvents {
      id
      type
      occurredAt
      customerId
      subscriptionId
      invoiceId
      amount { formatted }
      message
    }
  }
`);

/** What the customer list and a customer's page both show of a customer. */
export const CustomerFieldsFragment = graphql(`
  fragment CustomerFields on Customer { id externalId email name createdAt accessState mrr { formatted } }
`);

export const CustomersQuery = graphql(`
  query DashboardCustomers($first: Int!, $after: String, $email: String) {
    customers(first: $first, after: $after, email: $email) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          ...CustomerFields
          subscriptions(status: [ACTIVE, PAST_DUE, TRIALING]) { id plan { name } }
        }
      }
    }
  }
`);

export const CustomerQuery = graphql(`
  query DashboardCustomer($id: ID!) {
    customer(id: $id) {
      ...CustomerFields
      subscriptions {
        id
        status
        quantity
        currentPeriodStart
        currentPeriodEnd
        cancelAtPeriodEnd
        plan { id name }
        mrr { formatted }
        latestInvoice { id status attemptCount }
      }
      invoices(first: 50) {
        totalCount
        edges {
          node {
            id
            number
            status
            createdAt
            total { formatted }
            amountDue { formatted }
            attemptCount
            hostedInvoiceUrl
            pdfUrl
            billingReason
          }
        }
      }
      usage { meter quantity included overage periodStart periodEnd }
      entitlements { feature allowed reason }
      apiKeys { id name prefix createdAt lastUsedAt expiresAt revokedAt verifications { code count } }
    }
  }
`);

export const ParkedQuery = graphql(`
  query DashboardParked {
    parkedWebhookEvents(first: 100) { id type objectId attempts lastError stripeCreatedAt receivedAt }
  }
`);

export const RetryParkedMutation = graphql(`
  mutation DashboardRetryParked($id: ID!) {
    retryParkedWebhookEvent(input: { id: $id })
  }
`);

export const RevenueQuery = graphql(`
  query DashboardRevenue($from: DateTime!, $to: DateTime!) {
    revenue(from: $from, to: $to, interval: MONTH) {
      periodStart
      periodEnd
      currency
      mrr { amount formatted }
      newMrr { amount formatted }
      expansionMrr { amount formatted }
      contractionMrr { amount formatted }
      churnedMrr { amount formatted }
      reactivationMrr { amount formatted }
      netNewMrr { amount formatted }
    }
  }
`);

export const UsageFlushQuery = graphql(`
  query DashboardUsageFlush {
    usageFlush { backlog parked lagSeconds oldestUnsentAt }
  }
`);
