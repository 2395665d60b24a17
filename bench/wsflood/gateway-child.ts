/**
 * The gateway's HTTP and WebSocket server (compiled modules from dist/) as its own process for the
 * `wsflood` part, configured from the environment like `serve`, with an in-process signal bus the
 * part can publish on: `POST /_bench/publish?n=&bytes=&owner=` publishes n billing events whose
 * message is `bytes` long; `GET /_bench/stats[?gc=1]` answers what the WebSocket side holds and the process's memory. Bench only.
 */
import { loadDist } from '../lib/dist.ts';

const [{ loadConfig }, { loadCatalog }, { openOrm, closeOrm }, { createGatewayServer }, { createSignalBus, TOPICS }] = await Promise.all([
  loadDist<typeof import('../../src/config.js')>('config'),
  loadDist<typeof import('../../src/catalog.js')>('catalog'),
  loadDist<typeof import('../../src/db/orm.js')>('db/orm'),
  loadDist<typeof import('../../src/http/server.js')>('http/server'),
  loadDist<typeof import('../../src/events/index.js')>('events/index'),
]);

const config = loadConfig(process.env);
const orm = await openOrm({ databaseUrl: config.databaseUrl });
const bus = createSignalBus();
let seq = 0;

const server = await createGatewayServer({
  config,
  orm,
  bus,
  catalog: loadCatalog(config.billingCatalog),
  checkStripe: async () => undefined,
  mountRoutes: (app) => {
    app.post('/_bench/publish', async (req, res) => {
      const n = Number(req.query.n ?? 1);
      const message = 'x'.repeat(Number(req.query.bytes ?? 100));
      const owner = String(req.query.owner ?? 'flood');
      for (let i = 0; i < n; i++) {
        bus.publish(TOPICS.billingEvents, {
          id: `evt_flood_${++seq}`,
          type: 'CUSTOMER_CREATED',
          occurredAt: new Date().toISOString(),
          customerId: null,
          customerExternalId: owner,
          subscriptionId: null,
          invoiceId: null,
          amount: null,
          message,
        });
        // Let the fan-out write between events, as events arriving one by one would.
        await new Promise((r) => setImmediate(r));
      }
      res.json({ published: n });
    });
    app.get('/_bench/stats', (req, res) => {
      // ?gc=1 (the part starts this process with --expose-gc): what is left once garbage is collected.
      if (req.query.gc) (globalThis as { gc?: () => void }).gc?.();
      const w = server.websockets;
      const m = process.memoryUsage();
      res.json({ heapUsed: m.heapUsed, external: m.external, sockets: w.sockets, tokens: w.tokens, bufferedBytes: w.bufferedBytes, slowConsumersClosed: w.slowConsumersClosed, keys: server.fanout.keys, subscribers: server.fanout.subscribers });
    });
  },
});
await server.listen(config.port, '127.0.0.1');

process.once('SIGTERM', () => {
  void server
    .close()
    .then(() => closeOrm(orm))
    .finally(() => process.exit(0));
});
