// Child process for kill9.test.ts: the real /webhook route and durable inbox
// on a SQLite file, with the processor off, so every acknowledged event must
// still be in the inbox after the parent kills this process with SIGKILL.
import { createApp } from '../../../backend/http/app.js';
import { startServer } from '../../../backend/http/server.js';
import { WebhookInbox } from '../../../backend/learning/inbox.js';
import { openStore } from '../../../backend/learning/store.js';
import { silentLogger } from '../../../backend/logging.js';
import { createMetrics } from '../../../backend/metrics.js';
import type { FaceEngine } from '../../../backend/pipeline/types.js';
import { testConfig } from '../../http/helpers.js';

const store = await openStore(process.env.INBOX_DB!);
const inbox = new WebhookInbox({ store, handler: async () => {}, logger: silentLogger() });
const engine: FaceEngine = {
  modelVersion: 'kill9',
  executionProvider: 'cpu',
  segment: () => Promise.reject(new Error('no engine here')),
  close: async () => {},
};
const app = createApp({
  config: testConfig(),
  logger: silentLogger(),
  metrics: createMetrics({ defaultMetrics: false }),
  engine,
  imageSource: { fetch: () => Promise.reject(new Error('no images here')) },
  webhookInbox: inbox,
  onWebhook: async () => {},
});
const srv = await startServer(app, { host: '127.0.0.1', port: 0 });
process.stdout.write(`${srv.port}\n`);
