// `faceseg` run as a process: bad arguments exit 2 and setup errors 3 in
// every command, as --help documents, before any model is loaded.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function faceseg(args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'backend/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('faceseg exit codes', () => {
  it.each([
    [['nosuch'], /unknown command/],
    [['segment', '--batch', 'four', 'in', '-o', 'out'], /--batch must be a whole number >= 1/],
    [['segment', '--passes', 'abc', 'in', '-o', 'out'], /--passes must be a whole number >= 1/],
    [['segment', '--passes', '0', 'in', '-o', 'out'], /--passes must be a whole number >= 1/],
    [['segment', 'in'], /required option/],
    [['eval', '--data', 'd', '--seed', 'abc'], /--seed must be a whole number >= 0/],
    [['eval', '--data', 'd', '--learn', '1'], /--learn must be a whole number >= 2/],
    [['eval', '--data', 'd', '--learn', 'x'], /--learn must be a whole number >= 2/],
    [['prior'], /required option/],
  ])('%j is a usage error: exit 2', (args, message) => {
    const r = faceseg(args);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
  }, 60_000);

  it('segment: two inputs that would write the same outputs, or --out equal to an input folder, exit 2 before the models load', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-exit-'));
    for (const d of ['x', 'y']) {
      mkdirSync(path.join(dir, d));
      writeFileSync(path.join(dir, d, 'a.png'), 'not read');
    }
    const same = faceseg(['segment', path.join(dir, 'x', 'a.png'), path.join(dir, 'y', 'a.png'), '-o', path.join(dir, 'out')]);
    expect(same.stderr).toMatch(/would write the same outputs/);
    expect(same.status).toBe(2);
    const inside = faceseg(['segment', path.join(dir, 'x'), '-o', path.join(dir, 'x')]);
    expect(inside.stderr).toMatch(/--out must not be an input folder/);
    expect(inside.status).toBe(2);
  }, 60_000);

  it('anonymize: an IN without images says so and exits 1, as segment does (a script must not take it for a finished job)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-empty-'));
    mkdirSync(path.join(dir, 'in'));
    writeFileSync(path.join(dir, 'in', 'notes.txt'), 'not an image');
    const r = faceseg(['anonymize', '-q', path.join(dir, 'in'), path.join(dir, 'out')]);
    expect(r.stderr).toMatch(/no image files found/);
    expect(r.status).toBe(1);
  }, 60_000);

  it('segment: inputs without images exit 1 before the models load (a missing model folder is never read)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-empty-'));
    mkdirSync(path.join(dir, 'in'));
    writeFileSync(path.join(dir, 'in', 'notes.txt'), 'not an image');
    const r = faceseg(['segment', '-q', path.join(dir, 'in'), '-o', path.join(dir, 'out')], { MODEL_DIR: path.join(dir, 'no-models') });
    expect(r.stderr).toMatch(/No images found in/);
    expect(r.status).toBe(1);
  }, 60_000);

  it('prior with no corrections prints n/a for the IoU, not NaN, and exits 1 (no prior written)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-prior-'));
    const r = faceseg(['prior', '-o', path.join(dir, 'prior.json')], { LEARNING_DB: path.join(dir, 'learning.sqlite') });
    expect(r.stderr).toMatch(/IoU engine n\/a -> prior n\/a/);
    expect(r.stderr).not.toContain('NaN');
    expect(r.status).toBe(1);
  }, 60_000);

  it('help exits 0', () => {
    expect(faceseg(['segment', '--help']).status).toBe(0);
  }, 60_000);
});
