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
  /** Last label config seen per project, parsed (a few fields, not the XML: up to 1000 projects), oldest first. */
  private readonly last = new Map<string, FaceLabelConfig>();

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

  /** Keeps `cfg` as the project's config; bounded: the oldest project's goes first (it comes back with its next /setup). */
  remember(project: string, cfg: FaceLabelConfig): void {
    this.last.delete(project);
    if (this.last.size >= MAX_PROJECT_CONFIGS) this.last.delete(this.last.keys().next().value!);
    this.last.set(project, cfg);
  }

  /** The config a /predict call sent, else the one its project's /setup sent. */
  resolve(project: string | undefined, sent: string | null | undefined): FaceLabelConfig {
    if (sent) return this.parse(sent);
    // an empty label_config is missing, not "use the project's"
    const cfg = sent == null && project !== undefined ? this.last.get(project) : undefined;
    if (!cfg) throw new HttpError(400, 'invalid_request', 'label_config is missing and /setup was not called for this project');
    return cfg;
  }
}
