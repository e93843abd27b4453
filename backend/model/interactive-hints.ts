// Label Studio's interactive context (the labeler's clicks and boxes, in
// percent of the image) as engine hints in image pixels.
import type { ContextRegion } from '../labelstudio/schemas.js';
import type { InteractiveHint } from '../pipeline/types.js';

export function hintsFromContext(regions: readonly ContextRegion[] | null | undefined, width: number, height: number): InteractiveHint[] {
  const hints: InteractiveHint[] = [];
  for (const r of regions ?? []) {
    const v = r.value;
    if (!v || typeof v.x !== 'number' || typeof v.y !== 'number') continue;
    const type = (r.type ?? '').toLowerCase();
    if (type === 'keypointlabels' || type === 'keypoint') {
      const positive = r.is_positive ?? v.is_positive ?? true;
      hints.push({ kind: 'point', point: { x: (v.x / 100) * width, y: (v.y / 100) * height }, positive });
    } else if ((type === 'rectanglelabels' || type === 'rectangle') && typeof v.width === 'number' && typeof v.height === 'number') {
      hints.push({
        kind: 'box',
        box: { x: (v.x / 100) * width, y: (v.y / 100) * height, width: (v.width / 100) * width, height: (v.height / 100) * height },
      });
    }
  }
  return hints;
}
