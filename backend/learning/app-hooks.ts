// What active learning plugs into the HTTP app (createApp's optional deps).
// Declared here, below http/, so learning never imports the HTTP layer.
import type { WebhookEvent } from '../labelstudio/schemas.js';
import type { ProjectSettings, RecordInput } from './service.js';
import type { TeamSummary } from './team-summary.js';

export interface LearningHooks {
  /** Called for ANNOTATION_* and START_TRAINING webhooks; errors are logged, not returned. */
  onWebhook?: (event: WebhookEvent) => Promise<void>;
  /** Webhook inbox: /webhook answers 201 only once accept() has committed the event (processed in the background); 503 when it throws. */
  webhookInbox?: { accept(event: WebhookEvent): Promise<unknown> };
  /** A project's calibrated parameters, model_version and score map (undefined = defaults). */
  projectSettings?: (projectId: string) => Promise<ProjectSettings | undefined>;
  /** Told what each non-interactive task prediction sent (awaited before the answer). Must be quick. */
  onPredicted?: (p: RecordInput) => Promise<void> | void;
  /** The body of GET /projects/:id/quality (behind basic auth). */
  projectQuality?: (projectId: string) => unknown;
  /** Team page (GET /ui): per-project quality figures from the corrections. */
  teamSummary?: () => Promise<TeamSummary>;
}
