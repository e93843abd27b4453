import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { LabelConfigCache, LabelConfigError, parseLabelConfig } from '../../backend/labelstudio/label-config.js';

const file = (name: string) => readFileSync(new URL(`../../label-config/${name}`, import.meta.url), 'utf8');

function expectError(xml: string, code: string, pattern: RegExp, faceLabel?: string) {
  try {
    parseLabelConfig(xml, { faceLabel });
  } catch (err) {
    expect(err).toBeInstanceOf(LabelConfigError);
    expect((err as LabelConfigError).code).toBe(code);
    expect((err as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a LabelConfigError');
}

describe('shipped label configs', () => {
  it('brush.xml: brush only', () => {
    expect(parseLabelConfig(file('brush.xml'))).toEqual({
      image: { name: 'image', value: '$image', dataKey: 'image' },
      brush: { fromName: 'face', toName: 'image', label: 'Face', labels: ['Face'] },
    });
  });
  it('brush-box-keypoints.xml: brush, face box and five head keypoints', () => {
    const c = parseLabelConfig(file('brush-box-keypoints.xml'));
    expect(c.rectangle).toEqual({ fromName: 'face_box', toName: 'image', label: 'Face', labels: ['Face'] });
    expect(c.keypoints).toEqual({
      fromName: 'head_keypoints',
      toName: 'image',
      labels: { nose: 'nose', left_eye: 'left_eye', right_eye: 'right_eye', left_ear: 'left_ear', right_ear: 'right_ear' },
    });
  });
  it('brush-interactive.xml: smartOnly click tools are not used for output', () => {
    const c = parseLabelConfig(file('brush-interactive.xml'));
    expect(c.brush.fromName).toBe('face');
    expect(c.rectangle).toBeUndefined();
    expect(c.keypoints).toBeUndefined();
  });
});

describe('choosing the face label', () => {
  const brush = (labels: string, extra = '') =>
    `<View><Image name="photo" value="$url"/>${extra}<BrushLabels name="mask" toName="photo">${labels}</BrushLabels></View>`;

  it('picks "face" case-insensitively among several labels', () => {
    const c = parseLabelConfig(brush('<Label value="Hair"/><Label value="FACE"/><Label value="Skin"/>'));
    expect(c.brush.label).toBe('FACE');
    expect(c.image).toEqual({ name: 'photo', value: '$url', dataKey: 'url' });
  });
  it('reads numeric character references in label values, as Label Studio does', () => {
    expect(parseLabelConfig(brush('<Label value="Hair"/><Label value="F&#97;ce"/>')).brush.label).toBe('Face');
    expect(parseLabelConfig(brush('<Label value="T&#234;te"/>')).brush.label).toBe('Tête');
    expect(parseLabelConfig(brush('<Label value="T&#xEA;te &amp; cou"/>')).brush.label).toBe('Tête & cou');
  });
  it('honours predicted_values', () => {
    const c = parseLabelConfig(brush('<Label value="Hair"/><Label value="Gesicht" predicted_values="person, face"/>'));
    expect(c.brush.label).toBe('Gesicht');
  });
  it('uses FACE_LABEL when set (value or predicted value), and does not guess when it is absent', () => {
    expect(parseLabelConfig(brush('<Label value="Face"/><Label value="Head"/>'), { faceLabel: 'head' }).brush.label).toBe('Head');
    expect(parseLabelConfig(brush('<Label value="A" predicted_values="kopf"/><Label value="B"/>'), { faceLabel: 'Kopf' }).brush.label).toBe('A');
    expectError(brush('<Label value="Face"/>'), 'no_face_label', /FACE_LABEL="Head" is not one of/, 'Head');
  });
  it('uses the only label whatever its name', () => {
    expect(parseLabelConfig(brush('<Label value="Anonymise"/>')).brush.label).toBe('Anonymise');
  });
  it('several labels, none a face -> error that says what to do', () => {
    expectError(brush('<Label value="Hair"/><Label value="Skin"/>'), 'no_face_label', /Hair, Skin.*none is called "Face".*FACE_LABEL/s);
  });
  it('finds tags nested in views and with odd casing', () => {
    const xml = `<View><View style="x"><image name="i" value="$img"/></View><View><brushlabels name="b" toname="i"><label value="Face"/></brushlabels></View></View>`;
    const c = parseLabelConfig(xml);
    expect(c.brush).toMatchObject({ fromName: 'b', toName: 'i', label: 'Face' });
  });
  it('keypoint labels are matched by name variants and predicted_values', () => {
    const xml = `<View><Image name="i" value="$image"/><BrushLabels name="b" toName="i"><Label value="Face"/></BrushLabels>
      <KeyPointLabels name="k" toName="i"><Label value="Nose"/><Label value="Left Eye"/><Label value="R-Eye"/><Label value="Ohr links" predicted_values="left_ear"/><Label value="Chin"/></KeyPointLabels></View>`;
    expect(parseLabelConfig(xml).keypoints?.labels).toEqual({ nose: 'Nose', left_eye: 'Left Eye', right_eye: 'R-Eye', left_ear: 'Ohr links' });
  });
  it('ignores controls bound to another image', () => {
    const xml = `<View><Image name="a" value="$a"/><Image name="b" value="$b"/>
      <BrushLabels name="m" toName="b"><Label value="Face"/></BrushLabels>
      <RectangleLabels name="r" toName="a"><Label value="Face"/></RectangleLabels></View>`;
    const c = parseLabelConfig(xml);
    expect(c.image.name).toBe('b');
    expect(c.rectangle).toBeUndefined();
  });
});

describe('broken configs', () => {
  it('empty', () => expectError('  ', 'empty', /empty/));
  it('not XML', () => expectError('<View><Image name="i" value="$image"></View>', 'invalid_xml', /not valid XML/));
  it('no Image tag', () => expectError('<View><Text name="t" value="$text"/></View>', 'no_image', /<Image/));
  it('no BrushLabels: says what to add', () =>
    expectError(
      '<View><Image name="image" value="$image"/><RectangleLabels name="r" toName="image"><Label value="Face"/></RectangleLabels></View>',
      'no_brush_labels',
      /no <BrushLabels> tag[\s\S]*<BrushLabels name="face" toName="image">[\s\S]*<Label value="Face"/,
    ));
  it('BrushLabels bound to a missing image', () =>
    expectError('<View><Image name="image" value="$image"/><BrushLabels name="b" toName="img"><Label value="Face"/></BrushLabels></View>', 'no_brush_labels', /toName="img".*not the name of an <Image>/));
  it('BrushLabels without labels', () =>
    expectError('<View><Image name="image" value="$image"/><BrushLabels name="b" toName="image"></BrushLabels></View>', 'no_face_label', /no <Label> children/));
});

describe('LabelConfigCache', () => {
  it('returns the same object for the same XML and rethrows cached errors', () => {
    const cache = new LabelConfigCache();
    const xml = file('brush.xml');
    expect(cache.get(xml)).toBe(cache.get(xml));
    expect(() => cache.get('<View/>')).toThrow(LabelConfigError);
    expect(() => cache.get('<View/>')).toThrow(LabelConfigError);
  });
});
