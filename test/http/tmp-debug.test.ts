import { it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestGateway } from './harness.js';
it('dbg', async () => {
  const gw = await startTestGateway();
  await gw.gql('{ plans { id } }');
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  console.log(text.split('\n').filter((l) => l.startsWith('http_req')).slice(0, 5).join('\n'));
  const client = createClient({ url: gw.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${await gw.token('u')}` }, retryAttempts: 0, on: { closed: (e: any) => console.log('closed', e.code, e.reason), connected: () => console.log('connected') } });
  const r = await new Promise((resolve) => client.subscribe({ query: '{ customer { id } }' }, { next: (v) => { console.log('next', JSON.stringify(v)); resolve(v); }, error: (e) => { console.log('error', e); resolve(e); }, complete: () => console.log('complete') }));
  await Promise.race([client.dispose(), new Promise((r) => setTimeout(r, 2000))]);
  await gw.close();
}, 20000);
