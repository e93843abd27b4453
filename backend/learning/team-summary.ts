// The learning figures of the team page (GET /ui), per project: corrections,
// task IoU over time and what the last calibration changed. Pure: the caller
// reads the store.
import type { EngineParams } from '../pipeline/types.js';
import { qualityFigures, taskIou } from './calibrate.js';
import type { CalibrationRecord, CorrectionRecord } from './store.js';

/** One project's figures from the corrections (shown by the team page, GET /ui). */
export interface ProjectQuality {
  project: string;
  modelVersion: string;
  corrections: number;
  changed: number;
  facesMissed: number;
  facesFalse: number;
  meanFaceIou: number | null;
  /** Task IoU of each correction, oldest first (epoch ms). */
  iouSeries: Array<{ at: number; iou: number }>;
  /** What the last calibration changed; null before the first one. */
  calibration: {
    fittedAt: number;
    corrections: number;
    modelVersion: string;
    /** Parameters that differ from the defaults, with the defaults. */
    changes: Array<{ name: string; from: number; to: number }>;
    /** Mean IoU on the corrections before and after, when the fit reports them. */
    iouBefore?: number;
    iouAfter?: number;
    /** The mask refiner's last fit: held-out IoU of the model in use and of the candidate, and whether it was kept. */
    refiner?: { kept: boolean; heldOut: number; iouBefore: number; iouAfter: number; reason: string };
  } | null;
}

export interface TeamSummary {
  projects: ProjectQuality[];
  minCorrections: number;
}

export interface ProjectRecords {
  project: string;
  corrections: readonly CorrectionRecord[];
  calibration?: CalibrationRecord;
  modelVersion: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function projectQuality(r: ProjectRecords, defaults: EngineParams): ProjectQuality {
  const f = qualityFigures(r.corrections);
  const cal = r.calibration;
  return {
    project: r.project,
    modelVersion: r.modelVersion,
    corrections: f.corrections,
    changed: f.changed,
    facesMissed: f.facesMissed,
    facesFalse: f.facesFalse,
    meanFaceIou: f.meanFaceIou,
    iouSeries: r.corrections.map((c) => ({ at: c.receivedAt, iou: taskIou(c) })),
    calibration: cal
      ? {
          fittedAt: cal.fittedAt,
          corrections: cal.corrections,
          modelVersion: cal.modelVersion,
          changes: (Object.keys(cal.params) as Array<keyof EngineParams>)
            .filter((k) => typeof cal.params[k] === 'number')
            .map((k) => ({ name: k, from: defaults[k], to: cal.params[k] as number })),
          iouBefore: num(cal.report.meanIouDefault),
          iouAfter: num(cal.report.meanIouFitted),
          ...refinerOf(cal.report.refiner),
        }
      : null,
  };
}

export function teamSummary(records: readonly ProjectRecords[], defaults: EngineParams, minCorrections: number): TeamSummary {
  return { projects: records.map((r) => projectQuality(r, defaults)), minCorrections };
}

/** The refiner's part of a calibration report (service.ts writes it), when there is one. */
function refinerOf(r: unknown): { refiner?: NonNullable<ProjectQuality['calibration']>['refiner'] } {
  if (typeof r !== 'object' || r === null) return {};
  const o = r as Record<string, unknown>;
  const before = num(o.iouCurrent);
  const after = num(o.iouCandidate);
  if (before === undefined || after === undefined) return {};
  return { refiner: { kept: o.accepted === true, heldOut: num(o.heldOut) ?? 0, iouBefore: before, iouAfter: after, reason: typeof o.reason === 'string' ? o.reason : '' } };
}
