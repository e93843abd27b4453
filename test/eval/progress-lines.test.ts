// `faceseg eval` (and --learn) under nohup or in CI: plain progress lines on
// stderr, as segment, anonymize and predict print, instead of nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { loadSet } from '../../backend/eval/learn-sim.js';
import { evalFasseg } from '../../backend/eval/run-eval.js';
import { SquareFaceEngine } from '../http/helpers.js';

describe('eval progress without a terminal', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-evalprogress-'));
  let write: MockInstance;
  let tty: boolean;
  beforeEach(async () => {
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#a08070' } }).png().toFile(path.join(dir, 'p.png'));
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#000000' } }).png().toFile(path.join(dir, 'l.png'));
    writeFileSync(path.join(dir, 'index.json'), JSON.stringify([{ image: 'p.png', label: 'l.png', yaw: '0' }]));
    tty = process.stderr.isTTY;
    process.stderr.isTTY = false;
    write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    write.mockRestore();
    process.stderr.isTTY = tty;
  });
  const lines = () => write.mock.calls.map((c) => String(c[0]));

  it('the FASSEG sets', async () => {
    await evalFasseg(new SquareFaceEngine(), dir, 'frontal02-train');
    expect(lines()).toContainEqual(expect.stringMatching(/^frontal02-train: 1\/1 \(100%\)/));
  });

  it('--learn loading a set', async () => {
    await loadSet(new SquareFaceEngine(), dir, 'frontal02-train', 'face', false, () => null);
    expect(lines()).toContainEqual(expect.stringMatching(/^frontal02-train \(engine\): 1\/1 \(100%\)/));
  });
});
