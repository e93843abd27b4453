// Label configs as the routes see them: parsed once per distinct XML, and the
// last one /setup saw per project, for /predict calls that do not send one.
import { LabelConfigCache, LabelConfigError, type FaceLabelConfig } from '../labelstudio/label-config.js';
import { HttpError } from './errors.js';

/** Projects whose /setup label config is kept for /predict calls without one. */
export const MAX_PROJECT_CONFIGS = 1000;

/** "12.1699999" (project id and timestamp) -> "12". */
export function projectKey(project: string | number | null | undefined): string | undefined {
  if (project === undefined || project === null || project === '') return undefined;
  return String(project).split('.')[0];
}

export class ProjectLabelConfigs {
  private readonly parsed: LabelConfigCache;
  /** Last label config seen per project, oldest first. */
  private readonly last = new Map<string, string>();

  constructor(faceLabel?: string) {
    this.parsed = new LabelConfigCache({ faceLabel });
  }

  /** The face config of `xml`; 400 invalid_label_config when it has none. */
  parse(xml: string): FaceLabelConfig {
    try {
      return this.parsed.get(xml);
    } catch (err) {
      if (err instanceof LabelConfigError) throw new HttpError(400, 'invalid_label_config', err.message);
      throw err;
    }
  }

  /** Keeps `xml` as the project's config; bounded: the oldest project's goes first (it comes back with its next /setup). */
  remember(project: string, xml: string): void {
    this.last.delete(project);
    if (this.last.size >= MAX_PROJECT_CONFIGS) this.last.delete(this.last.keys().next().value!);
    this.last.set(project, xml);
  }

  /** The config a /predict call sent, else the one its project's /setup sent. */
  resolve(project: string | undefined, sent: string | null | undefined): FaceLabelConfig {
    const xml = sent ?? (project !== undefined ? this.last.get(project) : undefined);
    if (!xml) throw new HttpError(400, 'invalid_request', 'label_config is missing and /setup was not called for this project');
    return this.parse(xml);
  }
}
