// Fuzzed JSON (and not-JSON) bodies against /predict, /setup and /webhook:
// never a 5xx, always a JSON answer; a 200 /predict has one result per task.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import sharp from 'sharp';
import { createApp } from '../../backend/http/app.js';
import { silentLogger } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';
import { createImageSource } from '../../backend/media/image-source.js';
import { WEBHOOK_ACTIONS } from '../../backend/labelstudio/schemas.js';
import { BRUSH_BOX_KP_XML, BRUSH_XML, SquareFaceEngine, testConfig } from '../http/helpers.js';

let server: http.Server;
let url: string;
let goodImage: string;
let webhookCalls = 0;

beforeAll(async () => {
  const png = await sharp({ create: { width: 24, height: 18, channels: 3, background: '#a87' } }).png().toBuffer();
  goodImage = `data:image/png;base64,${png.toString('base64')}`;
  const config = testConfig({ LABEL_STUDIO_URL: 'http://127.0.0.1:1', MAX_TASKS_PER_REQUEST: '20', MAX_BODY_BYTES: '256kb' });
  const app = createApp({
    config,
    logger: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    engine: new SquareFaceEngine(),
    // 127.0.0.1:1 refuses at once; other hosts get 300 ms
    imageSource: createImageSource({ labelStudioUrl: config.labelStudioUrl, maxBytes: 1e6, timeoutMs: 300, retries: 0 }),
    onWebhook: async () => {
      webhookCalls++;
      throw new Error('handler failures are logged, never returned');
    },
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

interface Answer {
  status: number;
  type: string;
  body: unknown;
}

async function post(path: string, body: string, contentType = 'application/json'): Promise<Answer> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body, headers: { 'Content-Type': contentType } });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: parsed };
}

function wellFormed(a: Answer, path: string, sent: unknown): boolean {
  if (a.status >= 500) return false;
  if (!a.type.startsWith('application/json') || a.body === undefined) return false;
  const b = a.body as Record<string, unknown>;
  if (a.status >= 400) return typeof b.error === 'string' && typeof b.detail === 'string';
  if (path === '/predict') {
    const tasks = (sent as { tasks: unknown[] }).tasks;
    return Array.isArray(b.results) && b.results.length === tasks.length;
  }
  if (path === '/setup') return typeof b.model_version === 'string';
  return typeof b.status === 'string';
}

const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'image', 'tasks', 'id', 'data'));
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string({ maxLength: 30 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** XML that is almost a label config: a good one cut, spliced or with junk inserted. */
const xml = fc.oneof(
  fc.constantFrom(BRUSH_XML, BRUSH_BOX_KP_XML, '', '<View/>', '<View><Image name="i" value="$image"/></View>', '<!DOCTYPE x [<!ENTITY a "aaaa">]><View>&a;&a;</View>'),
  fc.tuple(fc.constantFrom(BRUSH_XML, BRUSH_BOX_KP_XML), fc.nat(), fc.string({ maxLength: 12 })).map(([x, at, junk]) => {
    const i = at % (x.length + 1);
    return x.slice(0, i) + junk + x.slice(i);
  }),
  fc.tuple(fc.constantFrom(BRUSH_XML, BRUSH_BOX_KP_XML), fc.nat()).map(([x, at]) => x.slice(0, at % (x.length + 1))),
  fc.string({ maxLength: 40 }),
);

const imageRef = fc.oneof(
  fc.constant('GOOD'),
  fc.constantFrom(
    '/data/upload/1/x.jpg',
    '/data/local-files/?d=../../etc/passwd',
    's3://bucket/x.jpg',
    'http://127.0.0.1:1/x.png',
    'http://169.254.169.254/latest/meta-data/',
    'data:image/png;base64,',
    'data:image/png;base64,iVBORw0KGgo=',
    'data:,hello',
    'ftp://x/y.png',
    'javascript:alert(1)',
    '',
  ),
  fc.string({ maxLength: 20 }),
  json,
);

const task = fc.record(
  {
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.constant(null), json),
    data: fc.oneof({ weight: 5, arbitrary: fc.record({ image: imageRef }) }, { weight: 1, arbitrary: json }),
    predictions: json,
  },
  { requiredKeys: ['data'] },
);

const predictBody = fc.record(
  {
    tasks: fc.oneof({ weight: 6, arbitrary: fc.array(task, { maxLength: 4 }) }, { weight: 1, arbitrary: json }),
    project: fc.oneof(fc.constantFrom('1.1700000000', '2', ''), fc.integer(), fc.constant(null), json),
    label_config: fc.oneof({ weight: 4, arbitrary: xml }, { weight: 1, arbitrary: json }),
    params: fc.oneof(
      json,
      fc.record({
        context: fc.oneof(
          json,
          fc.record({
            result: fc.array(
              fc.record({
                type: fc.oneof(fc.constantFrom('keypointlabels', 'rectanglelabels', 'brushlabels'), fc.string({ maxLength: 5 })),
                is_positive: fc.oneof(fc.boolean(), json),
                value: fc.oneof(json, fc.record({ x: fc.double(), y: fc.double(), width: fc.double(), height: fc.double() })),
              }),
              { maxLength: 3 },
            ),
          }),
        ),
      }),
    ),
  },
  { requiredKeys: [] },
);

/** Mostly valid: good config and images, fuzzed around them (reaches the engine). */
const nearlyValidPredict = fc.record({
  tasks: fc.array(fc.record({ id: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), data: fc.record({ image: fc.oneof({ weight: 4, arbitrary: fc.constant('GOOD') }, { weight: 1, arbitrary: imageRef }) }) }), { minLength: 1, maxLength: 4 }),
  label_config: fc.constantFrom(BRUSH_XML, BRUSH_BOX_KP_XML),
  project: fc.oneof(fc.constant('3.1700000000'), json),
  params: fc.oneof(fc.constant(undefined), fc.constant({ login: null, password: null, context: null }), json),
});

const setupBody = fc.record(
  { project: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), json), schema: fc.oneof({ weight: 4, arbitrary: xml }, { weight: 1, arbitrary: json }), hostname: json, access_token: json, model_version: json, extra_params: json },
  { requiredKeys: [] },
);

const webhookBody = fc.record(
  {
    action: fc.oneof(fc.constantFrom(...WEBHOOK_ACTIONS, 'PROJECT_UPDATED', ''), json),
    project: fc.oneof(json, fc.record({ id: fc.oneof(fc.integer(), fc.string(), json), label_config: fc.oneof(xml, json) })),
    task: json,
    annotation: json,
  },
  { requiredKeys: [] },
);

const RUNS = { numRuns: 150 };

function encode(body: unknown): string {
  // GOOD stands for a decodable image (kept out of the arbitraries: it is long)
  return JSON.stringify(body).replaceAll('"GOOD"', JSON.stringify(goodImage));
}

describe('fuzzed bodies never give a 5xx and always give JSON', () => {
  it('/predict, schema-shaped', async () => {
    let predicted = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(predictBody, nearlyValidPredict), async (body) => {
        const text = encode(body);
        const a = await post('/predict', text);
        const results = (a.body as { results?: Array<{ result: unknown[] }> }).results;
        if (a.status === 200 && results?.some((r) => r.result.length > 0)) predicted++;
        return wellFormed(a, '/predict', JSON.parse(text));
      }),
      { numRuns: 300 },
    );
    // the fuzz reaches the engine, not only the validation
    expect(predicted).toBeGreaterThan(5);
  });

  it('/setup, schema-shaped', async () => {
    await fc.assert(fc.asyncProperty(setupBody, async (body) => wellFormed(await post('/setup', encode(body)), '/setup', body)), RUNS);
  });

  it('/webhook, schema-shaped', async () => {
    await fc.assert(fc.asyncProperty(webhookBody, async (body) => wellFormed(await post('/webhook', encode(body)), '/webhook', body)), RUNS);
  });

  it('any JSON value, any text, any content type, on every route', async () => {
    const bodyText = fc.oneof(
      json.map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ maxLength: 60 }),
      fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.constantFrom('', '{', '{"tasks":', '[]', 'null', '"tasks"', '{"tasks":[{"data":{}}]', '\u0000', '{"a":1}{"b":2}'),
    );
    const type = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'image/png', 'application/json; charset=latin1');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/predict', '/setup', '/webhook'), bodyText, type, async (path, text, ct) => {
        const a = await post(path, text, ct);
        let sent: unknown;
        try {
          sent = JSON.parse(text);
        } catch {
          sent = undefined;
        }
        return wellFormed(a, path, sent);
      }),
      { numRuns: 300 },
    );
  });

  it('__proto__ keys do not pollute', async () => {
    const a = await post('/predict', '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"tasks":[],"label_config":"<View/>"}');
    expect(a.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a body over MAX_BODY_BYTES is a JSON 413', async () => {
    const a = await post('/predict', JSON.stringify({ tasks: [{ data: { image: 'x'.repeat(300_000) } }] }));
    expect(a.status).toBe(413);
    expect(a.body).toMatchObject({ error: 'payload_too_large' });
  });

  it('the webhook handler ran and its failures stayed out of the answers', () => {
    expect(webhookCalls).toBeGreaterThan(0);
  });
});
