// POST /setup: Label Studio connects a project. The label config is checked
// (its status line carries the reason when it has no face brush) and kept for
// the project's /predict calls; the answer is the project's model_version.
import type { Express } from 'express';
import { describeZodError, SetupRequest } from '../../labelstudio/schemas.js';
import type { FaceSegModel } from '../../model/faceseg-model.js';
import { HttpError } from '../errors.js';
import { projectKey, type ProjectLabelConfigs } from '../project-configs.js';

export function setupRoute(app: Express, model: Pick<FaceSegModel, 'setup'>, configs: ProjectLabelConfigs): void {
  app.post('/setup', async (req, res) => {
    const parsed = SetupRequest.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeZodError(parsed.error));
    const cfg = configs.parse(parsed.data.schema);
    const key = projectKey(parsed.data.project);
    if (key !== undefined) configs.remember(key, cfg);
    req.log.info('setup', {
      project: key,
      brush: `${cfg.brush.fromName}->${cfg.brush.toName}:${cfg.brush.label}`,
      rectangle: cfg.rectangle?.fromName,
      keypoints: cfg.keypoints?.fromName,
    });
    res.json({ model_version: (await model.setup(key)).modelVersion });
  });
}
