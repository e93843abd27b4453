// The deface peer: a Python venv (bench/.venv-deface, pinned by
// bench/requirements-deface.txt, created on first use) and the driver
// bench/deface_driver.py, which times deface's own CenterFace detection and
// ellipse anonymisation, and draws its ellipse masks for the quality check.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readImageFile, readLabelMap } from '../backend/io/image-files.js';
import { binaryUnion } from '../backend/pipeline/mask-ops.js';
import { chinRow, classMask, FASSEG_FACE, maskScores, meanOf } from '../backend/eval/metrics.js';
import type { FaceEngine } from '../backend/pipeline/types.js';
import { fassegIndex, headsFound, type BenchImage } from './images.js';
import { mean, summarise, type LatencySummary } from './stats.js';

export class PeerUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerUnavailable';
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

const tail = (s: string, n = 6): string => s.trim().split('\n').slice(-n).join('\n    ');

/**
 * The venv's python, after creating the venv and installing the pinned
 * requirements when deface does not import. Throws PeerUnavailable with the
 * reason (no python, no venv module, pip could not reach a registry...).
 */
export async function ensureDefaceVenv(root: string, python = 'python3', log: (m: string) => void = () => undefined): Promise<string> {
  const venv = path.join(root, 'bench', '.venv-deface');
  const py = path.join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
  const req = path.join(root, 'bench', 'requirements-deface.txt');
  const check = async (): Promise<boolean> => existsSync(py) && (await run(py, ['-c', 'import deface.centerface, deface.deface, onnxruntime, onnx, skimage']).then((r) => r.code === 0));
  if (await check()) return py;
  if (!existsSync(py)) {
    log(`deface: creating ${path.relative(root, venv)} with ${python}`);
    const r = await run(python, ['-m', 'venv', venv]);
    if (r.code !== 0) throw new PeerUnavailable(`could not create a Python venv with "${python} -m venv" (use --python to name another python):\n    ${tail(r.stderr)}`);
  }
  log(`deface: installing ${path.relative(root, req)} (pinned deface and ONNX Runtime; a few minutes the first time)`);
  const r = await run(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', req], { timeoutMs: 15 * 60_000 });
  if (r.code !== 0) {
    throw new PeerUnavailable(
      `pip could not install ${path.relative(root, req)} into ${path.relative(root, venv)} (no network or no registry access?). ` +
        `Install it by hand with "${py} -m pip install -r ${req}", or run with --no-deface. pip said:\n    ${tail(r.stderr || r.stdout)}`,
    );
  }
  if (!(await check())) throw new PeerUnavailable(`deface was installed into ${venv} but does not import; run "${py} -c 'import deface'" to see why`);
  return py;
}

async function driver<T>(py: string, root: string, mode: 'speed' | 'masks', job: object, timeoutMs: number): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'faceseg-deface-'));
  try {
    const jobFile = path.join(dir, 'job.json');
    await writeFile(jobFile, JSON.stringify(job));
    const r = await run(py, [path.join(root, 'bench', 'deface_driver.py'), mode, jobFile], { timeoutMs });
    if (r.code !== 0) throw new PeerUnavailable(`the deface driver failed (${mode}, exit ${r.code}):\n    ${tail(r.stderr)}`);
    return JSON.parse(r.stdout) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface SpeedRow {
  image: string;
  decode_ms: number;
  detect_ms: number;
  anonymize_ms: number;
  total_ms: number;
  faces: number;
  boxes: number[][];
}

export interface DefaceGroup {
  group: string;
  samples: number;
  imagesPerSec: number;
  latency: LatencySummary;
  stagesMean: { decode: number; detect: number; anonymize: number };
  facesMean: number;
  headsPlaced?: number;
  headsFound?: number;
}

export interface DefaceSpeed {
  provider: string;
  backend: string;
  onnxruntime: string;
  deface: string;
  settings: Record<string, unknown>;
  wallMs: number;
  imagesPerSec: number;
  peakRssMiB: number;
  latency: LatencySummary;
  groups: DefaceGroup[];
}

/** Time deface on the same images (written to a temp folder as the same JPEG bytes). */
export async function runDefaceSpeed(
  py: string,
  root: string,
  images: readonly BenchImage[],
  opts: { iterations: number; warmup: number; provider: string; warmPass?: boolean },
): Promise<DefaceSpeed> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'faceseg-bench-img-'));
  try {
    const files: string[] = [];
    const groups: Record<string, string> = {};
    for (const [i, img] of images.entries()) {
      const f = path.join(dir, `${String(i).padStart(3, '0')}.jpg`);
      await writeFile(f, img.bytes);
      files.push(f);
      groups[f] = img.group;
    }
    const out = await driver<{
      provider: string;
      backend: string;
      onnxruntime: string;
      deface: string;
      wall_ms: number;
      peak_rss_mib: number;
      rows: SpeedRow[];
      settings: Record<string, unknown>;
    }>(py, root, 'speed', { images: files, groups, iterations: opts.iterations, warmup: opts.warmup, warm_pass: opts.warmPass === true, provider: opts.provider }, 60 * 60_000);
    const byFile = new Map(files.map((f, i) => [f, images[i]]));
    const rows = out.rows.map((r) => ({ ...r, img: byFile.get(r.image)! }));
    const names = [...new Set(images.map((i) => i.group))];
    return {
      provider: out.provider,
      backend: out.backend,
      onnxruntime: out.onnxruntime,
      deface: out.deface,
      settings: out.settings,
      wallMs: out.wall_ms,
      imagesPerSec: (1000 * rows.length) / out.wall_ms,
      peakRssMiB: out.peak_rss_mib,
      latency: summarise(rows.map((r) => r.total_ms)),
      groups: names.map((group) => {
        const rs = rows.filter((r) => r.img.group === group);
        const synth = rs.filter((r) => r.img.synth);
        const total = rs.reduce((a, r) => a + r.total_ms, 0);
        return {
          group,
          samples: rs.length,
          imagesPerSec: (1000 * rs.length) / total,
          latency: summarise(rs.map((r) => r.total_ms)),
          stagesMean: { decode: mean(rs.map((r) => r.decode_ms)), detect: mean(rs.map((r) => r.detect_ms)), anonymize: mean(rs.map((r) => r.anonymize_ms)) },
          facesMean: mean(rs.map((r) => r.faces)),
          headsPlaced: synth.length ? synth.reduce((a, r) => a + r.img.synth!.heads.length, 0) : undefined,
          headsFound: synth.length
            ? synth.reduce((a, r) => a + headsFound(r.img.synth!.heads, r.boxes.map((b) => ({ x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1] }))), 0)
            : undefined,
        };
      }),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface QualityRow {
  set: string;
  image: string;
  yaw: number;
  ours: { iou: number; precision: number; recall: number; faces: number };
  deface: Record<string, { iou: number; precision: number; recall: number }>;
  defaceFaces: number;
}

export interface QualitySummary {
  set: string;
  images: number;
  ours: { iou: number; precision: number; recall: number; found: number };
  deface: Record<string, { iou: number; precision: number; recall: number }>;
  defaceFound: number;
}

export const DEFACE_MASK_SCALES = ['1.3', '1.0'] as const;

/**
 * Face-mask IoU on FASSEG, above the chin as in `faceseg eval` (same chinRow,
 * classes, maskScores): our union mask vs deface's ellipses at its default
 * mask scale (1.3) and at 1.0 (the bare detector box).
 */
export async function runQuality(
  engine: FaceEngine,
  py: string | undefined,
  root: string,
  dataDir: string,
  opts: { perSet?: number; provider: string; onProgress?: () => void },
): Promise<{ rows: QualityRow[]; summary: QualitySummary[]; defaceError?: string }> {
  const picks: { set: string; dir: string; image: string; label: string; yaw: number }[] = [];
  for (const set of ['frontal02-train', 'multipose01-train']) {
    const { dir, entries } = fassegIndex(dataDir, set);
    const k = opts.perSet ?? entries.length;
    const chosen = k >= entries.length ? entries : Array.from({ length: k }, (_, i) => entries[Math.floor((i * entries.length) / k)]);
    for (const e of chosen) picks.push({ set, dir, image: e.image, label: e.label, yaw: Number(e.yaw) });
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'faceseg-deface-masks-'));
  try {
    let defaceError: string | undefined;
    let defaceFaces: number[] = [];
    if (py) {
      const job = {
        provider: opts.provider,
        images: picks.map((p, i) => ({
          image: path.join(p.dir, p.image),
          out: Object.fromEntries(DEFACE_MASK_SCALES.map((s) => [s, path.join(tmp, `${i}_${s}.png`)])),
        })),
      };
      try {
        const out = await driver<{ rows: { faces: number }[] }>(py, root, 'masks', job, 60 * 60_000);
        defaceFaces = out.rows.map((r) => r.faces);
      } catch (e) {
        defaceError = (e as Error).message;
      }
    }
    const rows: QualityRow[] = [];
    for (const [i, p] of picks.entries()) {
      const img = await readImageFile(path.join(p.dir, p.image));
      const label = await readLabelMap(path.join(p.dir, p.label));
      const truth = classMask(label.data, FASSEG_FACE);
      const chin = chinRow(label.data, label.width, label.height);
      const res = await engine.segment(img);
      const ours = maskScores(binaryUnion(res), truth, img.width, chin);
      const deface: QualityRow['deface'] = {};
      if (py && !defaceError) {
        for (const s of DEFACE_MASK_SCALES) {
          const m = await readLabelMap(path.join(tmp, `${i}_${s}.png`));
          deface[s] = maskScores(m.data, truth, img.width, chin);
        }
      }
      rows.push({ set: p.set, image: p.image, yaw: p.yaw, ours: { ...ours, faces: res.faces.length }, deface, defaceFaces: defaceFaces[i] ?? NaN });
      opts.onProgress?.();
    }
    const summary: QualitySummary[] = [];
    const group = (name: string, rs: QualityRow[]): void => {
      if (!rs.length) return;
      summary.push({
        set: name,
        images: rs.length,
        ours: {
          iou: meanOf(rs.map((r) => r.ours.iou)),
          precision: meanOf(rs.map((r) => r.ours.precision)),
          recall: meanOf(rs.map((r) => r.ours.recall)),
          found: rs.filter((r) => r.ours.faces > 0).length,
        },
        deface: Object.fromEntries(
          DEFACE_MASK_SCALES.filter((s) => rs.every((r) => r.deface[s])).map((s) => [
            s,
            { iou: meanOf(rs.map((r) => r.deface[s].iou)), precision: meanOf(rs.map((r) => r.deface[s].precision)), recall: meanOf(rs.map((r) => r.deface[s].recall)) },
          ]),
        ),
        defaceFound: rs.filter((r) => r.defaceFaces > 0).length,
      });
    };
    for (const set of ['frontal02-train', 'multipose01-train']) group(set, rows.filter((r) => r.set === set));
    group('multipose01 |yaw|<=45', rows.filter((r) => r.set === 'multipose01-train' && Math.abs(r.yaw) <= 45));
    group('all FASSEG', rows);
    return { rows, summary, defaceError };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
