import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { cpuSessionOptions, cudaProviderInstalled, cudaSessionOptions, resolveProvider } from '../../backend/models/sessions.js';

const dirs: string[] = [];
function binDir(files: Record<string, string[]>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'ort-bin-'));
  dirs.push(root);
  for (const [napi, names] of Object.entries(files)) {
    const d = path.join(root, napi, process.platform, process.arch);
    mkdirSync(d, { recursive: true });
    for (const n of names) writeFileSync(path.join(d, n), '');
  }
  return root;
}

function recorder(): { warnings: string[]; log: { info: () => void; warn: (m: string) => void } } {
  const warnings: string[] = [];
  return { warnings, log: { info: () => undefined, warn: (m: string) => void warnings.push(m) } };
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('cudaProviderInstalled', () => {
  it('finds the CUDA provider library under any napi-vN folder', () => {
    expect(cudaProviderInstalled(undefined, binDir({ 'napi-v6': ['libonnxruntime.so.1'], 'napi-v8': ['libonnxruntime_providers_cuda.so'] }))).toBe(true);
    expect(cudaProviderInstalled(undefined, binDir({ 'napi-v6': ['onnxruntime_providers_cuda.dll'] }))).toBe(true);
  });

  it('answers false when only the CPU runtime is there', () => {
    const { warnings, log } = recorder();
    expect(cudaProviderInstalled(log, binDir({ 'napi-v6': ['libonnxruntime.so.1', 'onnxruntime_binding.node'] }))).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('answers false, and says why, when the folder cannot be read', () => {
    const { warnings, log } = recorder();
    expect(cudaProviderInstalled(log, path.join(tmpdir(), 'no-such-ort-bin-folder'))).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no-such-ort-bin-folder.*assuming there is none/);
  });

  it('looks at the installed onnxruntime-node without throwing', () => {
    expect(typeof cudaProviderInstalled()).toBe('boolean');
  });
});

describe('cpuSessionOptions', () => {
  it('sets every option on purpose: full optimisation, sequential, one inter-op thread, arena on', () => {
    const o = cpuSessionOptions(3);
    expect(o).toMatchObject({ graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1, intraOpNumThreads: 3, enableCpuMemArena: true, enableMemPattern: false });
  });

  it('uses every core this process may use unless told a thread count', () => {
    expect(cpuSessionOptions().intraOpNumThreads).toBe(availableParallelism());
    expect(cpuSessionOptions(0).intraOpNumThreads).toBe(availableParallelism());
  });
});

describe('cudaSessionOptions', () => {
  it('asks for the CUDA provider with one intra-op thread unless told a thread count, the other options as on the CPU', () => {
    expect(cudaSessionOptions()).toMatchObject({ executionProviders: ['cuda'], intraOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
    expect(cudaSessionOptions(0).intraOpNumThreads).toBe(1);
    expect(cudaSessionOptions(3).intraOpNumThreads).toBe(3);
  });
});

describe('resolveProvider', () => {
  it("takes cpu and cuda as asked, and 'auto' as CUDA only when its provider library is there", () => {
    expect(resolveProvider('cpu')).toBe('cpu');
    expect(resolveProvider('cuda')).toBe('cuda');
    expect(resolveProvider('auto')).toBe(cudaProviderInstalled() ? 'cuda' : 'cpu');
  });
});
