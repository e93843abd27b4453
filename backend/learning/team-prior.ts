// `faceseg prior`: a refiner prior from the corrections a team has already
// made, across its projects, so that a new project starts from them instead
// of the bare engine. Fitted exactly as a project's refiner (worker thread,
// held-out corrections), and only kept when it beats the engine there.
import type { FitOptions, FitReport, RefinerModel } from './refiner.js';
import type { LearningStore } from './store.js';
import { trainInWorker } from './train-runner.js';

export interface TeamPrior {
  /** Null when there was too little to learn from or the candidate did not beat the engine. */
  model: RefinerModel | null;
  report: FitReport & { skipped: number };
  /** Projects read, and how many of their corrected faces the fit used. */
  projects: Record<string, number>;
}

/** Most corrected faces a prior is fitted on (the newest): one project's worth, whatever the store holds. */
export const MAX_TEAM_FACES = 2000;

type EncodedFace = { sample: string; target: string; group: string; project: string; at: number };

/** Fit a prior on the newest corrected faces of `projects` (default: every project in the store). */
export async function fitTeamPrior(store: LearningStore, opts: { projects?: readonly string[]; fit?: FitOptions; maxFaces?: number } = {}): Promise<TeamPrior> {
  const names = opts.projects ?? (await store.listProjects());
  const max = opts.maxFaces ?? MAX_TEAM_FACES;
  let faces: EncodedFace[] = [];
  for (const p of names) {
    for (const c of await store.listCorrections(p)) {
      // one group per task, so the held-out check never sees a task it trained on
      for (const f of c.faces) if (f.sample && f.target) faces.push({ sample: f.sample, target: f.target, group: `${p}/${c.task}`, project: p, at: c.receivedAt });
    }
    // keep memory to the newest `max` as projects are read
    if (faces.length > max) faces = newest(faces, max);
  }
  const projects: Record<string, number> = Object.fromEntries(names.map((p) => [p, 0]));
  for (const f of faces) projects[f.project]++;
  const out = await trainInWorker({ faces: faces.map(({ sample, target, group }) => ({ sample, target, group })), current: null, ...(opts.fit ? { options: opts.fit } : {}) });
  return { model: out.report.accepted ? out.model : null, report: out.report, projects };
}

/** The `max` most recently corrected faces, oldest first (stable for equal times). */
function newest(faces: EncodedFace[], max: number): EncodedFace[] {
  return faces
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.at - b.f.at || a.i - b.i)
    .slice(-max)
    .map((x) => x.f);
}
