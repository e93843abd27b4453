// The house rules of docs/architecture.md, checked: which folder may import
// which, and how long a file or a function in backend/ may be.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..');
const backend = path.join(root, 'backend');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The layer a file belongs to: its first folder below backend/, or "root" for backend/*.ts. */
function layerOf(file: string): string {
  const rel = path.relative(backend, file).split(path.sep);
  return rel.length === 1 ? 'root' : rel[0]!;
}

/**
 * What each layer may import (besides itself and util). Lower layers never
 * import upper ones; "root" is config, logging, metrics and the composition root.
 */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  pipeline: [],
  models: ['pipeline'],
  labelstudio: ['pipeline', 'root'],
  media: ['pipeline', 'labelstudio', 'root'],
  io: ['pipeline', 'media'],
  learning: ['pipeline', 'labelstudio', 'root'],
  model: ['pipeline', 'labelstudio', 'learning', 'media', 'root'],
  http: ['pipeline', 'labelstudio', 'learning', 'media', 'model', 'root'],
  eval: ['pipeline', 'learning', 'media', 'io', 'models', 'root'],
  cli: ['pipeline', 'labelstudio', 'learning', 'media', 'io', 'model', 'http', 'eval', 'models', 'root'],
  root: ['pipeline', 'models', 'labelstudio', 'media', 'learning', 'model', 'http'],
};

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) out.push(path.resolve(path.dirname(file), m[1]!));
  return out;
}

function longFunctions(file: string, limit: number): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (last - first + 1 > limit) found.push(`${path.relative(root, file)}:${first + 1} (${last - first + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const files = sourceFiles(backend);

describe('architecture (docs/architecture.md)', () => {
  it('every layer imports only the layers below it', () => {
    const wrong: string[] = [];
    for (const f of files) {
      const from = layerOf(f);
      for (const target of importsOf(f)) {
        if (!target.startsWith(backend + path.sep)) {
          wrong.push(`${path.relative(root, f)} imports ${path.relative(root, target)} (outside backend/)`);
          continue;
        }
        const to = layerOf(target);
        if (to === from || to === 'util') continue;
        if (!(ALLOWED[from] ?? []).includes(to)) wrong.push(`${path.relative(root, f)} (${from}) imports ${path.relative(root, target)} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no file in backend/ is longer than 350 lines', () => {
    const long = files
      .map((f) => ({ f, n: fs.readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.n > 350)
      .map((x) => `${path.relative(root, x.f)} (${x.n} lines)`);
    expect(long).toEqual([]);
  });

  it('no function in backend/ is longer than 60 lines', () => {
    expect(files.flatMap((f) => longFunctions(f, 60))).toEqual([]);
  });

  it('the length check catches a long function, nested ones included', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arch-'));
    const file = path.join(dir, 'long.ts');
    const body = Array.from({ length: 65 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    fs.writeFileSync(file, `export function outer(): void {\n  const inner = () => {\n${body}\n  };\n  inner();\n}\n`);
    expect(longFunctions(file, 60)).toHaveLength(2);
    expect(longFunctions(file, 100)).toHaveLength(0);
    fs.rmSync(dir, { recursive: true });
  });
});
