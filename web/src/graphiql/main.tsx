import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
// Monaco's language workers, bundled by Vite: nothing is fetched from a CDN.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './graphiql.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

/** In sandbox development the explorer starts with the dev admin token, so subscriptions work at once. */
async function devHeaders(): Promise<string> {
  const session = (await fetch('/web/session.json').then((r) => (r.ok ? r.json() : null), () => null)) as { adminToken: string | null } | null;
  return session?.adminToken ? JSON.stringify({ authorization: `Bearer ${session.adminToken}` }, null, 2) : '';
}

// graphql-ws authenticates by connectionParams: the Headers tab's authorization is passed along.
const fetcher = createGraphiQLFetcher({ url: '/graphql', subscriptionUrl: wsUrl });

// `?query=…` opens the explorer on a given document (links from docs and tests).
const initialQuery = new URLSearchParams(location.search).get('query') ?? `# billing-gateway: queries, mutations and subscriptions (over graphql-ws).
query Plans {
  plans { id name price { formatted } }
}

subscription LiveEvents {
  billingEvents { id type occurredAt message }
}
`;

void devHeaders().then((headers) =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <div style={{ height: '100vh' }}>
        <GraphiQL fetcher={fetcher} defaultQuery={initialQuery} initialQuery={initialQuery} initialHeaders={headers} shouldPersistHeaders={false} />
      </div>
    </StrictMode>,
  ),
);
