// Child process for image-budget-rss.test.ts: 4 concurrent /predict requests
// with one 5000x5000 image each (75 MB decoded) under DECODED_IMAGE_BUDGET_BYTES
// from the environment; prints the peak RSS growth in bytes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { createApp } from '../../../backend/http/app.js';
import { silentLogger } from '../../../backend/logging.js';
import { createMetrics } from '../../../backend/metrics.js';
import type { RgbImage, SegmentResult } from '../../../backend/pipeline/types.js';
import { BRUSH_XML, testConfig } from '../../http/helpers.js';

sharp.cache(false);
const W = 5000;
const H = 5000;
const png = await sharp({ create: { width: W, height: H, channels: 3, background: '#a87' } }).png({ compressionLevel: 1 }).toBuffer();
// an engine that holds the image a while and answers no faces
const engine = {
  modelVersion: 'rss',
  executionProvider: 'cpu',
  async segment(image: RgbImage): Promise<SegmentResult> {
    await new Promise((r) => setTimeout(r, 100));
    return { width: image.width, height: image.height, faces: [], score: 0, timings: {} };
  },
  async close() {},
};
const app = createApp({
  config: testConfig({ DECODED_IMAGE_BUDGET_BYTES: process.env.BUDGET ?? '1gb', MAX_IMAGE_PIXELS: String(W * H) }),
  logger: silentLogger(),
  metrics: createMetrics({ defaultMetrics: false }),
  engine,
  imageSource: { fetch: async () => png },
});
const server = http.createServer(app);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
global.gc?.();
const base = process.memoryUsage().rss;
let peak = base;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
await Promise.all(
  Array.from({ length: 4 }, (_, i) =>
    fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tasks: [{ id: i, data: { image: 'http://img/x.png' } }], label_config: BRUSH_XML }),
    }).then((r) => r.text()),
  ),
);
clearInterval(sampler);
process.stdout.write(`${peak - base}\n`);
server.close();
