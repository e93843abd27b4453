// A tiny stand-in ML backend, used only to develop the harness against a real
// Label Studio (E2E_BACKEND=standin) and to record what Label Studio sends.
// It is NOT the product: the suite's default run starts backend/cli/main.ts.
//
// It answers the protocol with a fixed ellipse over the test photo's face,
// after downloading each task's image the way a backend must (so a 404 task
// gets an empty result). Every request is appended as one JSON line to
// $STANDIN_LOG when set.
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { encodeBinary } from '@thi.ng/rle-pack';

const port = Number(process.env.PORT ?? 9090);
const host = process.env.HOST ?? '127.0.0.1';
const ls = (process.env.LABEL_STUDIO_URL ?? '').replace(/\/+$/, '');
const key = process.env.LABEL_STUDIO_API_KEY ?? '';
const basic = process.env.BASIC_AUTH_USER
  ? 'Basic ' + Buffer.from(`${process.env.BASIC_AUTH_USER}:${process.env.BASIC_AUTH_PASS}`).toString('base64')
  : undefined;
const MODEL_VERSION = 'standin-0.0.1';

function ellipseRle(w: number, h: number): number[] {
  const rgba = new Uint8Array(w * h * 4);
  const [cx, cy, rx, ry] = [225, 130, 48, 58];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) rgba.fill(255, (y * w + x) * 4, (y * w + x) * 4 + 4);
  return Array.from(encodeBinary(rgba, rgba.length, 8, [3, 4, 8, 16]));
}

let access: string | undefined;
async function authHeader(): Promise<string> {
  if (key.split('.').length !== 3) return `Token ${key}`;
  if (!access) {
    const r = await fetch(`${ls}/api/token/refresh/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh: key }),
    });
    access = ((await r.json()) as { access: string }).access;
  }
  return `Bearer ${access}`;
}

async function imageSize(url: string): Promise<[number, number]> {
  const abs = new URL(url, ls + '/');
  const headers: Record<string, string> = {};
  if (abs.origin === new URL(ls).origin) headers.authorization = await authHeader();
  const r = await fetch(abs, { headers });
  if (!r.ok) throw new Error(`GET ${abs} -> ${r.status}`);
  const buf = Buffer.from(await r.arrayBuffer());
  // PNG IHDR only: the fixture is a PNG
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

function firstAttr(xml: string, tag: string, attr: string): string | undefined {
  const m = new RegExp(`<${tag}\\b[^>]*\\b${attr}="([^"]*)"`).exec(xml);
  return m?.[1];
}

const server = http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  if (process.env.STANDIN_LOG) {
    appendFileSync(
      process.env.STANDIN_LOG,
      JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization ?? null, body: body ? JSON.parse(body) : null }) + '\n',
    );
  }
  const send = (code: number, obj: unknown, reason?: string) => {
    // Label Studio shows only "<code> Client Error: <reason phrase> for url: ..." to the
    // user, not the body: a custom reason phrase is the one way to say why.
    if (reason) res.statusMessage = reason;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  if (basic && req.url !== '/webhook' && req.headers.authorization !== basic) return send(401, { error: 'unauthorized' });
  try {
    const msg = body ? JSON.parse(body) : {};
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/'))
      return send(200, { status: 'UP', model_class: 'StandIn', model_version: MODEL_VERSION });
    if (req.url === '/setup') {
      if (!/<BrushLabels\b/.test(msg.schema ?? '')) {
        const why = 'The label config has no <BrushLabels> tag';
        return send(400, { error: why }, why);
      }
      return send(200, { model_version: MODEL_VERSION });
    }
    if (req.url === '/predict') {
      const cfg: string = msg.label_config;
      const from = firstAttr(cfg, 'BrushLabels', 'name')!;
      const to = firstAttr(cfg, 'BrushLabels', 'toName')!;
      const results = [];
      for (const task of msg.tasks) {
        try {
          const [w, h] = await imageSize(task.data.image);
          results.push({
            model_version: MODEL_VERSION,
            score: 0.9,
            result: [
              {
                id: 'f1', from_name: from, to_name: to, type: 'brushlabels', original_width: w, original_height: h,
                image_rotation: 0, score: 0.9, value: { format: 'rle', rle: ellipseRle(w, h), brushlabels: ['Face'] },
              },
            ],
          });
        } catch (e) {
          results.push({ model_version: MODEL_VERSION, score: 0, result: [] });
        }
      }
      return send(200, { results });
    }
    if (req.url === '/webhook') {
      console.log(`POST /webhook 200 ${msg.action}`); // the line run.ts looks for
      return send(200, { status: 'Unknown event' });
    }
    return send(404, { error: 'not found' });
  } catch (e) {
    return send(500, { error: String(e) });
  }
});
server.listen(port, host, () => console.log(`standin backend on http://${host}:${port}`));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.close(() => process.exit(0)));
