// Hostile inputs for the hardening tests: hand-built PNGs (huge dimensions,
// a decompression bomb), truncated and corrupt JPEG/PNG/WebP, and loopback
// HTTP servers that misbehave (slow, hanging, wrong content types, redirects).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import sharp from 'sharp';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

function ihdr(width: number, height: number, colourType = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = 8; // bit depth
  d[9] = colourType; // 0 = greyscale
  return chunk('IHDR', d);
}

/** Deflate `total` zero bytes, streamed in pieces (never holds them all in memory). */
async function deflateZeros(total: number, piece = 1 << 20): Promise<Buffer> {
  const zero = Buffer.alloc(piece);
  async function* zeros() {
    for (let left = total; left > 0; left -= piece) yield left >= piece ? zero : zero.subarray(0, left);
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(zeros()), zlib.createDeflate({ level: 9 }), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

/** A greyscale PNG of width x height, all black: small on disk, huge decoded. */
export async function blackPng(width: number, height: number): Promise<Buffer> {
  const raw = (width + 1) * height; // filter byte per row + pixels, all zero
  return Buffer.concat([SIGNATURE, ihdr(width, height), chunk('IDAT', await deflateZeros(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A valid 8x8 PNG with a zTXt chunk that inflates to `textBytes` (a text decompression bomb). */
export async function ztxtBombPng(textBytes: number): Promise<Buffer> {
  const pixels = zlib.deflateSync(Buffer.alloc((8 + 1) * 8, 0));
  const keyword = Buffer.from('Comment\0\0', 'latin1'); // keyword, NUL, compression method 0
  const ztxt = chunk('zTXt', Buffer.concat([keyword, await deflateZeros(textBytes)]));
  return Buffer.concat([SIGNATURE, ihdr(8, 8), ztxt, chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/** A noisy test image (so codecs cannot compress it to nothing). */
export async function noiseImage(format: 'jpeg' | 'png' | 'webp', width = 64, height = 48): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + ((i / 7) | 0)) % 251;
  return sharp(raw, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}

export const truncated = (b: Buffer): Buffer => Buffer.from(b.subarray(0, Math.floor(b.length / 2)));

/** Flip bits all through the file after the first 20 bytes. */
export function corrupted(b: Buffer): Buffer {
  const c = Buffer.from(b);
  for (let i = 20; i < c.length; i += 7) c[i] ^= 0x5a;
  return c;
}

export interface Loopback {
  url: string;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An HTTP server on 127.0.0.1 with the given routes (path -> handler). */
export async function loopbackServer(routes: Record<string, Handler>): Promise<Loopback> {
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const h = routes[path];
    if (h) h(req, res);
    else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('no such file');
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export const serve =
  (body: Buffer | string, type: string, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

/** Headers at once, then one byte every `everyMs` forever (until the client gives up). */
export const slowBody =
  (everyMs: number): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': '100000' });
    res.write(Buffer.from([137, 80, 78, 71]));
    const t = setInterval(() => res.write(Buffer.from([0])), everyMs);
    res.on('close', () => clearInterval(t));
  };

/** Accepts the request and never answers. */
export const hang: Handler = () => {};

export const redirectTo =
  (location: string, status = 302): Handler =>
  (_req, res) => {
    res.writeHead(status, { Location: location });
    res.end();
  };
