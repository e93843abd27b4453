// zod schemas of the bodies Label Studio sends. Lenient on fields we do not
// use (they pass through), strict on the types of those we do.
import { z } from 'zod';

const projectRef = z.union([z.string(), z.number()]).nullish();

export const SetupRequest = z.looseObject({
  project: projectRef,
  schema: z.string({ error: 'schema (the project label config XML) is required' }),
  hostname: z.string().nullish(),
  access_token: z.string().nullish(),
  model_version: z.string().nullish(),
  extra_params: z.unknown().optional(),
});
export type SetupRequest = z.infer<typeof SetupRequest>;

export const Task = z.looseObject({
  id: z.union([z.number().int(), z.string()]).nullish(),
  data: z.record(z.string(), z.unknown(), { error: 'task.data must be an object' }),
});
export type Task = z.infer<typeof Task>;

/** A region the labeler placed in interactive mode. */
export const ContextRegion = z.looseObject({
  type: z.string().optional(),
  from_name: z.string().optional(),
  to_name: z.string().optional(),
  original_width: z.number().nullish(),
  original_height: z.number().nullish(),
  is_positive: z.boolean().nullish(),
  value: z
    .looseObject({
      x: z.number().optional(),
      y: z.number().optional(),
      width: z.number().optional(),
      height: z.number().optional(),
      is_positive: z.boolean().nullish(),
    })
    .optional(),
});
export type ContextRegion = z.infer<typeof ContextRegion>;

export const PredictRequest = z.looseObject({
  tasks: z.array(Task, { error: 'tasks must be a list of tasks' }),
  project: projectRef,
  label_config: z.string().nullish(),
  model_version: z.string().nullish(),
  params: z
    .looseObject({
      login: z.string().nullish(),
      password: z.string().nullish(),
      context: z
        .looseObject({
          result: z.array(ContextRegion).nullish(),
        })
        .nullish(),
    })
    .nullish(),
});
export type PredictRequest = z.infer<typeof PredictRequest>;

// Label Studio (1.23 webhooks/models.py) sends ANNOTATIONS_DELETED with `annotations: [{id}]` and
// ANNOTATIONS_CREATED (bulk) with lists; ANNOTATION_DELETED is kept for older senders.
export const WEBHOOK_ACTIONS = [
  'ANNOTATION_CREATED',
  'ANNOTATION_UPDATED',
  'ANNOTATION_DELETED',
  'ANNOTATIONS_CREATED',
  'ANNOTATIONS_DELETED',
  'START_TRAINING',
] as const;
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];

export const WebhookRequest = z.looseObject({
  action: z.string({ error: 'action is required' }),
  project: z
    .looseObject({
      id: z.union([z.number(), z.string()]).nullish(),
      label_config: z.string().nullish(),
    })
    .nullish(),
  // lists in the bulk ANNOTATIONS_CREATED event
  task: z.union([z.looseObject({}), z.array(z.unknown())]).nullish(),
  annotation: z.union([z.looseObject({}), z.array(z.unknown())]).nullish(),
});
export type WebhookRequest = z.infer<typeof WebhookRequest>;

export interface WebhookEvent {
  action: WebhookAction;
  projectId?: string | number | null;
  body: WebhookRequest;
}

/** One-line human message from a zod error: "tasks.0.data: expected object, received string". */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}
