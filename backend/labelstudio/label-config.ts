// Reads a Label Studio label config (XML) and finds what a face backend needs:
// the Image tag, the BrushLabels bound to it and the label to use for faces,
// plus optional RectangleLabels (face box) and KeyPointLabels (head keypoints)
// on the same image.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { HeadKeypointName } from '../pipeline/types.js';

export interface ImageTag {
  /** The Image tag's name (the `to_name` of every region). */
  name: string;
  /** The raw value attribute, e.g. "$image". */
  value: string;
  /** The task data key the image URL lives under, e.g. "image". */
  dataKey: string;
}

export interface LabelChoice {
  /** The control tag's name (the `from_name`). */
  fromName: string;
  /** The Image tag's name (the `to_name`). */
  toName: string;
  /** The label value written into predictions. */
  label: string;
  /** All label values of the control. */
  labels: string[];
}

export interface KeypointChoice {
  fromName: string;
  toName: string;
  /** Head keypoint -> label value, for the keypoints the config has. */
  labels: Partial<Record<HeadKeypointName, string>>;
}

export interface FaceLabelConfig {
  image: ImageTag;
  brush: LabelChoice;
  rectangle?: LabelChoice;
  keypoints?: KeypointChoice;
}

export type LabelConfigErrorCode = 'empty' | 'invalid_xml' | 'no_image' | 'no_brush_labels' | 'no_face_label';

export const EXAMPLE_CONFIG = `<View>
  <Image name="image" value="$image" zoom="true"/>
  <BrushLabels name="face" toName="image">
    <Label value="Face" background="#ff0000"/>
  </BrushLabels>
</View>`;

export class LabelConfigError extends Error {
  constructor(
    readonly code: LabelConfigErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LabelConfigError';
  }
}

export interface LabelConfigOptions {
  /** FACE_LABEL: the label value (or predicted value) to use for faces. */
  faceLabel?: string;
}

interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

type RawNode = Record<string, unknown>;

function toNodes(raw: unknown): XmlNode[] {
  if (!Array.isArray(raw)) return [];
  const out: XmlNode[] = [];
  for (const item of raw as RawNode[]) {
    const tag = Object.keys(item).find((k) => k !== ':@');
    if (!tag || tag.startsWith('#')) continue; // text, comments
    const attrs = (item[':@'] ?? {}) as Record<string, unknown>;
    out.push({
      tag,
      attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, String(v)])),
      children: toNodes(item[tag]),
    });
  }
  return out;
}

function* walk(nodes: XmlNode[]): Generator<XmlNode> {
  for (const n of nodes) {
    yield n;
    yield* walk(n.children);
  }
}

function attr(n: XmlNode, name: string): string | undefined {
  const key = Object.keys(n.attrs).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : n.attrs[key];
}

interface LabelNode {
  value: string;
  predicted: string[];
}

function labelsOf(control: XmlNode): LabelNode[] {
  const out: LabelNode[] = [];
  for (const n of walk(control.children)) {
    if (n.tag.toLowerCase() !== 'label') continue;
    const value = attr(n, 'value');
    if (value === undefined) continue;
    const predicted = (attr(n, 'predicted_values') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    out.push({ value, predicted });
  }
  return out;
}

const norm = (s: string) => s.trim().toLowerCase();

/**
 * The face label of a control: FACE_LABEL (as a value, then as a predicted
 * value), else a label called "Face", else one whose predicted_values include
 * "face", else the only label.
 */
function chooseFaceLabel(labels: LabelNode[], faceLabel: string | undefined): string | undefined {
  const wanted = faceLabel ? [norm(faceLabel)] : [];
  wanted.push('face');
  for (const w of wanted) {
    const byValue = labels.find((l) => norm(l.value) === w);
    if (byValue) return byValue.value;
    const byPredicted = labels.find((l) => l.predicted.some((p) => norm(p) === w));
    if (byPredicted) return byPredicted.value;
    if (faceLabel) break; // an explicit FACE_LABEL that is absent: do not guess
  }
  if (!faceLabel && labels.length === 1) return labels[0].value;
  return undefined;
}

const KEYPOINT_ALIASES: Record<HeadKeypointName, string[]> = {
  nose: ['nose'],
  left_eye: ['lefteye', 'leye'],
  right_eye: ['righteye', 'reye'],
  left_ear: ['leftear', 'lear'],
  right_ear: ['rightear', 'rear'],
};

const squash = (s: string) => s.toLowerCase().replace(/[\s_\-.]/g, '');

function keypointLabels(labels: LabelNode[]): Partial<Record<HeadKeypointName, string>> {
  const out: Partial<Record<HeadKeypointName, string>> = {};
  for (const [kp, aliases] of Object.entries(KEYPOINT_ALIASES) as Array<[HeadKeypointName, string[]]>) {
    const hit =
      labels.find((l) => aliases.includes(squash(l.value))) ??
      labels.find((l) => l.predicted.some((p) => aliases.includes(squash(p))));
    if (hit) out[kp] = hit.value;
  }
  return out;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: true,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
});

function boundTo(control: XmlNode): string | undefined {
  return attr(control, 'toName')?.split(',')[0]?.trim();
}

/** Parse a label config. Throws LabelConfigError with a message that says what to fix. */
export function parseLabelConfig(xml: string, options: LabelConfigOptions = {}): FaceLabelConfig {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new LabelConfigError('empty', `The label config is empty. Use for example:\n${EXAMPLE_CONFIG}`);
  }
  const valid = XMLValidator.validate(xml, { allowBooleanAttributes: true });
  if (valid !== true) {
    throw new LabelConfigError(
      'invalid_xml',
      `The label config is not valid XML (line ${valid.err.line}, col ${valid.err.col}): ${valid.err.msg}`,
    );
  }
  const nodes = [...walk(toNodes(parser.parse(xml)))];
  const images = nodes.filter((n) => n.tag.toLowerCase() === 'image' && attr(n, 'name'));
  if (images.length === 0) {
    throw new LabelConfigError(
      'no_image',
      `The label config has no <Image name="..." value="$..."/> tag, so there is nothing to segment. Use for example:\n${EXAMPLE_CONFIG}`,
    );
  }
  const controls = (tag: string) => nodes.filter((n) => n.tag.toLowerCase() === tag && attr(n, 'name'));
  // smartOnly controls exist only for interactive clicks: never write predictions into them
  const outputControls = (tag: string) =>
    controls(tag).filter((c) => boundTo(c) && (attr(c, 'smartOnly') ?? '').toLowerCase() !== 'true');
  const brushes = controls('brushlabels');
  const imageNames = new Set(images.map((i) => attr(i, 'name')!));
  const boundBrushes = brushes.filter((b) => imageNames.has(boundTo(b) ?? ''));
  if (boundBrushes.length === 0) {
    const why =
      brushes.length === 0
        ? 'The label config has no <BrushLabels> tag, so face masks cannot be returned.'
        : `The <BrushLabels name="${attr(brushes[0], 'name')}"> tag has toName="${boundTo(brushes[0]) ?? ''}", which is not the name of an <Image> tag (${[...imageNames].join(', ')}).`;
    throw new LabelConfigError(
      'no_brush_labels',
      `${why} Add a BrushLabels control bound to the image with a "Face" label, for example:\n${EXAMPLE_CONFIG}`,
    );
  }
  let chosen: { brush: XmlNode; label: string } | undefined;
  for (const b of boundBrushes) {
    const label = chooseFaceLabel(labelsOf(b), options.faceLabel);
    if (label !== undefined) {
      chosen = { brush: b, label };
      break;
    }
  }
  if (!chosen) {
    const b = boundBrushes[0];
    const values = labelsOf(b).map((l) => l.value);
    const detail =
      values.length === 0
        ? `<BrushLabels name="${attr(b, 'name')}"> has no <Label> children.`
        : options.faceLabel
          ? `FACE_LABEL="${options.faceLabel}" is not one of the labels of <BrushLabels name="${attr(b, 'name')}"> (${values.join(', ')}).`
          : `<BrushLabels name="${attr(b, 'name')}"> has several labels (${values.join(', ')}) and none is called "Face".`;
    throw new LabelConfigError(
      'no_face_label',
      `${detail} Add <Label value="Face"/>, mark one with predicted_values="face", or set FACE_LABEL to the label to use.`,
    );
  }

  const toName = boundTo(chosen.brush)!;
  const image = images.find((i) => attr(i, 'name') === toName)!;
  const value = attr(image, 'value') ?? '';
  const result: FaceLabelConfig = {
    image: { name: toName, value, dataKey: value.startsWith('$') ? value.slice(1) : value },
    brush: {
      fromName: attr(chosen.brush, 'name')!,
      toName,
      label: chosen.label,
      labels: labelsOf(chosen.brush).map((l) => l.value),
    },
  };
  for (const r of outputControls('rectanglelabels').filter((c) => boundTo(c) === toName)) {
    const labels = labelsOf(r);
    const label = chooseFaceLabel(labels, options.faceLabel);
    if (label !== undefined) {
      result.rectangle = { fromName: attr(r, 'name')!, toName, label, labels: labels.map((l) => l.value) };
      break;
    }
  }
  for (const k of outputControls('keypointlabels').filter((c) => boundTo(c) === toName)) {
    const labels = keypointLabels(labelsOf(k));
    if (Object.keys(labels).length > 0) {
      result.keypoints = { fromName: attr(k, 'name')!, toName, labels };
      break;
    }
  }
  return result;
}

/** parseLabelConfig with a small cache: /predict sends the same XML every time. */
export class LabelConfigCache {
  private readonly cache = new Map<string, FaceLabelConfig | LabelConfigError>();
  constructor(
    private readonly options: LabelConfigOptions = {},
    private readonly size = 64,
  ) {}

  get(xml: string): FaceLabelConfig {
    let hit = this.cache.get(xml);
    if (hit === undefined) {
      try {
        hit = parseLabelConfig(xml, this.options);
      } catch (err) {
        if (!(err instanceof LabelConfigError)) throw err;
        hit = err;
      }
      if (this.cache.size >= this.size) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(xml, hit);
    }
    if (hit instanceof LabelConfigError) throw hit;
    return hit;
  }
}
