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
  /** Projects read, and how many corrected faces each gave. */
  projects: Record<string, number>;
}

/** Fit a prior on the corrected faces of `projects` (default: every project in the store). */
export async function fitTeamPrior(store: LearningStore, opts: { projects?: readonly string[]; fit?: FitOptions } = {}): Promise<TeamPrior> {
  const names = opts.projects ?? (await store.listProjects());
  const faces: { sample: string; target: string; group: string }[] = [];
  const projects: Record<string, number> = {};
  for (const p of names) {
    const before = faces.length;
    for (const c of await store.listCorrections(p)) {
      // one group per task, so the held-out check never sees a task it trained on
      for (const f of c.faces) if (f.sample && f.target) faces.push({ sample: f.sample, target: f.target, group: `${p}/${c.task}` });
    }
    projects[p] = faces.length - before;
  }
  const out = await trainInWorker({ faces, current: null, ...(opts.fit ? { options: opts.fit } : {}) });
  return { model: out.report.accepted ? out.model : null, report: out.report, projects };
}
