import { describe, expect, it } from 'vitest';
import http from 'node:http';
import express from 'express';
import { startServer } from '../../backend/http/server.js';
import { SETUP_ERRORS } from '../../backend/cli/usage.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('startServer', () => {
  it('a port in use is a ListenError, which `faceseg serve` reports as could not start (exit 3)', async () => {
    const first = await startServer(express(), { host: '127.0.0.1', port: 0, handleSignals: false });
    try {
      const err = await startServer(express(), { host: '127.0.0.1', port: first.port, handleSignals: false }).catch((e: Error) => e);
      expect(err).toMatchObject({ name: 'ListenError', message: expect.stringMatching(/port is in use/) });
      expect(SETUP_ERRORS).toContain((err as Error).name);
    } finally {
      await first.close(100);
    }
  });

  it('finishes in-flight requests on close, then refuses new connections', async () => {
    const app = express();
    app.get('/slow', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 200));
      res.json({ done: true });
    });
    const srv = await startServer(app, { host: '127.0.0.1', port: 0, handleSignals: false });
    const inflight = get(srv.port, '/slow');
    await new Promise((r) => setTimeout(r, 50));
    const closed = srv.close(5000);
    const res = await inflight;
    expect(res).toEqual({ status: 200, body: '{"done":true}' });
    await closed;
    await expect(get(srv.port, '/slow')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('closes a connection whose body trickles in past the request deadline, but lets a slow answer finish', async () => {
    const app = express();
    app.post('/in', express.json(), (_req, res) => res.json({ got: true }));
    app.get('/slow', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 1200));
      res.json({ done: true });
    });
    const srv = await startServer(app, { host: '127.0.0.1', port: 0, handleSignals: false, requestTimeoutMs: 400 });
    try {
      // headers and one byte of a 1000-byte body, then nothing (slowloris)
      const trickle = new Promise<{ status: number; closedMs: number }>((resolve, reject) => {
        const t0 = Date.now();
        const req = http.request({ host: '127.0.0.1', port: srv.port, path: '/in', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': 1000 } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, closedMs: Date.now() - t0 }));
        });
        req.on('error', (e) => (Date.now() - t0 > 300 ? resolve({ status: 0, closedMs: Date.now() - t0 }) : reject(e)));
        req.write('{');
      });
      const slow = get(srv.port, '/slow');
      const t = await trickle;
      expect([0, 408]).toContain(t.status);
      expect(t.closedMs).toBeLessThan(1500);
      expect(await slow).toEqual({ status: 200, body: '{"done":true}' });
    } finally {
      await srv.close(100);
    }
  });

  it('drops requests that outlive the deadline', async () => {
    const app = express();
    app.get('/hang', () => {
      /* never answers */
    });
    const srv = await startServer(app, { host: '127.0.0.1', port: 0, handleSignals: false });
    const pending = get(srv.port, '/hang').catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await srv.close(100);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
