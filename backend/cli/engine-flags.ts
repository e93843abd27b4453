// The engine flags shared by segment, eval, predict and anonymize, and the
// engine they build (configuration from the environment, as `serve` does).
import { Option, type Command } from 'commander';
import { buildEngine, buildServerEngine, loadConfig } from '../compose.js';
import type { EnginePool } from '../engine-pool.js';
import type { EngineSettings, FaceSegEngine } from '../pipeline/engine.js';
import type { RefinerModel } from '../learning/refiner.js';
import { positiveInt } from './usage.js';

export interface EngineFlags {
  baseline?: boolean;
  region?: 'hull' | 'disks';
  colour?: boolean;
  passes?: number;
  mediumPass?: boolean;
  alwaysTile?: boolean;
  beard?: 'include' | 'exclude';
}

export function engineOptions(cmd: Command): Command {
  return cmd
    .option('--baseline', "use the original system's head-box rule (keypoints only, radius 3 x head-keypoint spread)")
    .addOption(new Option('--region <method>', 'face region from landmarks').choices(['hull', 'disks']))
    .option('--no-colour', 'skip the skin-colour refinement of the landmark region')
    .option('--passes <n>', 'landmark passes (2 = re-centre once)', positiveInt('--passes'))
    .option('--no-medium-pass', 'photos of 1025-1215 px: always run the face detector at its full input size, never at the smaller one their people\'s heads allow')
    .option('--always-tile', 'images of 1216 px and more: always search full-resolution tiles for small faces, e.g. a crowd behind the people in front (0.2-0.3 s more per 1920x1080 image)')
    .addOption(new Option('--beard <rule>', 'whether beard and stubble inside the jaw line count as face (default: BEARD, else include)').choices(['include', 'exclude']));
}

export function settingsFrom(f: EngineFlags): Partial<EngineSettings> {
  const s: Partial<EngineSettings> = {};
  if (f.baseline) Object.assign(s, { locator: 'seed', passes: 1, colourRefine: false, retryScales: [] });
  if (f.region) s.regionMethod = f.region;
  if (f.colour === false) s.colourRefine = false;
  if (f.passes !== undefined) s.passes = f.passes;
  if (f.mediumPass === false) s.mediumPass = false;
  if (f.alwaysTile) s.alwaysTile = true;
  if (f.beard) s.beard = f.beard;
  return s;
}

export async function engineFrom(flags: EngineFlags, config = loadConfig(), prior?: RefinerModel | null) {
  return buildEngine({ config, settings: settingsFrom(flags), ...(prior !== undefined ? { prior } : {}) });
}

/** For commands that keep several images in flight (predict): the server's engine worker pool, unless ENGINE_WORKERS=0. */
export function pooledEngineFrom(flags: EngineFlags, config = loadConfig(), prior?: RefinerModel | null): Promise<FaceSegEngine | EnginePool> {
  return buildServerEngine({ config, settings: settingsFrom(flags), ...(prior !== undefined ? { prior } : {}) });
}
