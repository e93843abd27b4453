// Child process for shutdown.test.ts: a server whose /stuck request never
// ends and keeps the event loop alive (as a libvips call that never returns
// does), and, with STUCK_CLOSE=1, an onShutdown that never returns either.
import express from 'express';
import { startServer } from '../../../backend/http/server.js';

const app = express();
app.get('/stuck', () => {
  setInterval(() => {}, 1000); // a ref'd handle: the loop cannot empty
});
const srv = await startServer(app, {
  host: '127.0.0.1',
  port: 0,
  exitOnShutdown: true,
  shutdownDeadlineMs: 300,
  shutdownGraceMs: 300,
  onShutdown: () => (process.env.STUCK_CLOSE === '1' ? new Promise<void>(() => {}) : undefined),
});
process.stdout.write(`${srv.port}\n`);
