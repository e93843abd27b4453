// Reads a Label Studio label config (XML) and finds what a face backend needs:
// the Image tag, the BrushLabels bound to it and the label to use for faces,
// plus optional RectangleLabels (face box) and KeyPointLabels (head keypoints)
// on the same image.
import { createHash } from 'node:crypto';
import { attr, maxDepth, parseXml, walk, xmlProblem, type XmlNode } from './label-config-xml.js';
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

export type LabelConfigErrorCode = 'empty' | 'too_large' | 'invalid_xml' | 'no_image' | 'no_brush_labels' | 'no_face_label';

/** Largest label config accepted, in UTF-16 code units (Label Studio's own configs are a few kB). */
export const MAX_LABEL_CONFIG_CHARS = 256 * 1024;
/** Deepest tag nesting accepted (fast-xml-parser's own limit, checked here for a clear message). */
export const MAX_LABEL_CONFIG_DEPTH = 100;

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

function boundTo(control: XmlNode): string | undefined {
  return attr(control, 'toName')?.split(',')[0]?.trim();
}

/** Refuse what is empty, too big, has a DTD or nests too deep, before any XML parsing. */
function checkBounds(xml: string): void {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new LabelConfigError('empty', `The label config is empty. Use for example:\n${EXAMPLE_CONFIG}`);
  }
  if (xml.length > MAX_LABEL_CONFIG_CHARS) {
    throw new LabelConfigError(
      'too_large',
      `The label config is ${xml.length} characters long; the limit is ${MAX_LABEL_CONFIG_CHARS}. Label Studio label configs are a few kB`,
    );
  }
  // DTDs bring entity expansion and external entities; a label config never needs one
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) {
    throw new LabelConfigError('invalid_xml', 'The label config has a <!DOCTYPE> or <!ENTITY> declaration, which is not allowed: remove it');
  }
  const depth = maxDepth(xml);
  if (depth > MAX_LABEL_CONFIG_DEPTH) {
    throw new LabelConfigError('invalid_xml', `The label config nests tags ${depth} deep; the limit is ${MAX_LABEL_CONFIG_DEPTH}`);
  }
}

/** Every element of the config, in document order. */
function parseNodes(xml: string): XmlNode[] {
  try {
    const problem = xmlProblem(xml);
    if (problem) {
      throw new LabelConfigError('invalid_xml', `The label config is not valid XML (line ${problem.line}, col ${problem.col}): ${problem.msg}`);
    }
    return parseXml(xml);
  } catch (err) {
    // anything the XML library throws is a problem with this XML, never a server error
    if (err instanceof LabelConfigError) throw err;
    throw new LabelConfigError('invalid_xml', `The label config cannot be read as XML: ${(err as Error).message ?? String(err)}`);
  }
}

/** The named controls of one tag (lower case). */
const controlsOf = (nodes: XmlNode[], tag: string) => nodes.filter((n) => n.tag.toLowerCase() === tag && attr(n, 'name'));

/** The BrushLabels bound to an Image and its face label; throws what to add when there is none. */
function chooseBrush(nodes: XmlNode[], imageNames: Set<string>, faceLabel: string | undefined): { brush: XmlNode; label: string } {
  const brushes = controlsOf(nodes, 'brushlabels');
  const bound = brushes.filter((b) => imageNames.has(boundTo(b) ?? ''));
  if (bound.length === 0) {
    const why =
      brushes.length === 0
        ? 'The label config has no <BrushLabels> tag, so face masks cannot be returned.'
        : `The <BrushLabels name="${attr(brushes[0], 'name')}"> tag has toName="${boundTo(brushes[0]) ?? ''}", which is not the name of an <Image> tag (${[...imageNames].join(', ')}).`;
    throw new LabelConfigError(
      'no_brush_labels',
      `${why} Add a BrushLabels control bound to the image with a "Face" label, for example:\n${EXAMPLE_CONFIG}`,
    );
  }
  for (const brush of bound) {
    const label = chooseFaceLabel(labelsOf(brush), faceLabel);
    if (label !== undefined) return { brush, label };
  }
  const b = bound[0];
  const values = labelsOf(b).map((l) => l.value);
  const detail =
    values.length === 0
      ? `<BrushLabels name="${attr(b, 'name')}"> has no <Label> children.`
      : faceLabel
        ? `FACE_LABEL="${faceLabel}" is not one of the labels of <BrushLabels name="${attr(b, 'name')}"> (${values.join(', ')}).`
        : `<BrushLabels name="${attr(b, 'name')}"> has several labels (${values.join(', ')}) and none is called "Face".`;
  throw new LabelConfigError(
    'no_face_label',
    `${detail} Add <Label value="Face"/>, mark one with predicted_values="face", or set FACE_LABEL to the label to use.`,
  );
}

/** Controls of `tag` that predictions may fill for the image `toName` (smartOnly ones exist only for interactive clicks). */
const outputControls = (nodes: XmlNode[], tag: string, toName: string) =>
  controlsOf(nodes, tag).filter((c) => boundTo(c) === toName && (attr(c, 'smartOnly') ?? '').toLowerCase() !== 'true');

function findRectangle(nodes: XmlNode[], toName: string, faceLabel: string | undefined): LabelChoice | undefined {
  for (const r of outputControls(nodes, 'rectanglelabels', toName)) {
    const labels = labelsOf(r);
    const label = chooseFaceLabel(labels, faceLabel);
    if (label !== undefined) return { fromName: attr(r, 'name')!, toName, label, labels: labels.map((l) => l.value) };
  }
  return undefined;
}

function findKeypoints(nodes: XmlNode[], toName: string): KeypointChoice | undefined {
  for (const k of outputControls(nodes, 'keypointlabels', toName)) {
    const labels = keypointLabels(labelsOf(k));
    if (Object.keys(labels).length > 0) return { fromName: attr(k, 'name')!, toName, labels };
  }
  return undefined;
}

/** Parse a label config. Throws LabelConfigError with a message that says what to fix. */
export function parseLabelConfig(xml: string, options: LabelConfigOptions = {}): FaceLabelConfig {
  checkBounds(xml);
  const nodes = parseNodes(xml);
  const images = controlsOf(nodes, 'image');
  if (images.length === 0) {
    throw new LabelConfigError(
      'no_image',
      `The label config has no <Image name="..." value="$..."/> tag, so there is nothing to segment. Use for example:\n${EXAMPLE_CONFIG}`,
    );
  }
  const chosen = chooseBrush(nodes, new Set(images.map((i) => attr(i, 'name')!)), options.faceLabel);
  const toName = boundTo(chosen.brush)!;
  const value = attr(images.find((i) => attr(i, 'name') === toName)!, 'value') ?? '';
  const result: FaceLabelConfig = {
    image: { name: toName, value, dataKey: value.startsWith('$') ? value.slice(1) : value },
    brush: { fromName: attr(chosen.brush, 'name')!, toName, label: chosen.label, labels: labelsOf(chosen.brush).map((l) => l.value) },
  };
  const rectangle = findRectangle(nodes, toName, options.faceLabel);
  if (rectangle) result.rectangle = rectangle;
  const keypoints = findKeypoints(nodes, toName);
  if (keypoints) result.keypoints = keypoints;
  return result;
}

/**
 * parseLabelConfig with a small cache: /predict sends the same XML every time.
 * Keyed by a hash of the XML (not the XML itself) and bounded in entries;
 * configs over the size limit are refused before hashing.
 */
export class LabelConfigCache {
  private readonly cache = new Map<string, FaceLabelConfig | LabelConfigError>();
  constructor(
    private readonly options: LabelConfigOptions = {},
    private readonly size = 64,
  ) {}

  get(xml: string): FaceLabelConfig {
    if (typeof xml === 'string' && xml.length > MAX_LABEL_CONFIG_CHARS) return parseLabelConfig(xml, this.options);
    const key = createHash('sha256').update(xml).digest('base64');
    let hit = this.cache.get(key);
    if (hit === undefined) {
      try {
        hit = parseLabelConfig(xml, this.options);
      } catch (err) {
        if (!(err instanceof LabelConfigError)) throw err;
        hit = err;
      }
      if (this.cache.size >= this.size) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, hit);
    }
    if (hit instanceof LabelConfigError) throw hit;
    return hit;
  }

  /** Entries held (tests). */
  get entries(): number {
    return this.cache.size;
  }
}
