// An acknowledged webhook (201) is never lost: a server is killed with
// SIGKILL while webhooks pour in, three times; every event it answered 201
// must be in the inbox afterwards (the processor is off in the child, so
// nothing leaves the inbox but by a crash losing it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../backend/learning/store.js';

const script = fileURLToPath(new URL('./children/inbox-server.ts', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'faceseg-kill9-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/webhook', method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function trial(n: number): Promise<{ acked: number[]; stored: Set<number> }> {
  const db = path.join(dir, `inbox-${n}.sqlite`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, INBOX_DB: db }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', () => reject(new Error('child exited early')));
  });
  const exited = new Promise((r) => child.once('exit', r));
  const acked: number[] = [];
  let seq = 0;
  // 8 senders in parallel; the kill lands while requests are in flight
  const sender = async () => {
    while (child.exitCode === null && child.signalCode === null) {
      const id = ++seq;
      const body = JSON.stringify({ action: 'ANNOTATION_CREATED', project: { id: 3 }, annotation: { id, task: 1, result: [] } });
      if ((await post(port, body)) === 201) acked.push(id);
    }
  };
  const senders = Array.from({ length: 8 }, sender);
  await new Promise((r) => setTimeout(r, 700 + n * 150));
  child.kill('SIGKILL');
  await exited;
  await Promise.all(senders);
  const store = await openStore(db);
  const stored = new Set<number>();
  for (const e of await store.takeEvents(100_000)) stored.add((JSON.parse(e.event) as { body: { annotation: { id: number } } }).body.annotation.id);
  await store.close();
  return { acked, stored };
}

describe('kill -9 while webhooks arrive', () => {
  it('every webhook answered 201 is in the inbox after the crash (three trials)', async () => {
    for (let n = 0; n < 3; n++) {
      const { acked, stored } = await trial(n);
      expect(acked.length).toBeGreaterThan(10);
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    }
  }, 90_000);
});
