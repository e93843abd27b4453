// The eval's summary: rows grouped per set (and per yaw, ITA third, dark
// copy), and the table `faceseg eval` prints.
import { itaSummary } from './ita-report.js';
import { meanOf, medianOf } from './metrics.js';
import { multiposePerson } from './split.js';
import type { FassegRow, PeopleRow } from './run-eval.js';
import { TONE_TARGETS, toneSetSuffix } from './skin-tone.js';
import { HAIR_SET_SUFFIX } from './hair-tone.js';
import type { SmallFaceRow } from './small-face-eval.js';
import type { GroupRow } from './group-eval.js';

export type Summary = Record<string, Record<string, number>>;

/** Turned heads: |yaw| from this many degrees. */
const TURNED_FROM = 60;

export function summarise(f: FassegRow[], p: PeopleRow[], small: SmallFaceRow[] = [], toned: FassegRow[] = [], groups: GroupRow[] = []): Summary {
  const out: Summary = {};
  summariseMasks(out, f);
  summarisePersons(out, f);
  summarisePeople(out, p);
  summariseTone(out, f, toned);
  summariseHair(out, f, toned);
  for (const [dark, behind] of [[false, false], [true, false], [false, true]]) {
    const rows = small.filter((r) => r.dark === dark && r.behind === behind);
    if (rows.length === 0) continue;
    const faces = rows.reduce((a, r) => a + r.faces, 0);
    const found = rows.reduce((a, r) => a + r.found, 0);
    out[behind ? 'small/20px crowd behind 2 people' : `small/20px faces, 1920x1080${dark ? ' dark' : ''}`] = {
      images: rows.length,
      faces,
      found,
      foundRate: found / faces,
      falsePerImage: rows.reduce((a, r) => a + r.falseFaces, 0) / rows.length,
      msPerImage: meanOf(rows.map((r) => r.ms)),
    };
  }
  const normal = out['small/20px faces, 1920x1080'];
  const dark = out['small/20px faces, 1920x1080 dark'];
  if (normal && dark && normal.foundRate > 0) dark.foundVsNormal = dark.foundRate / normal.foundRate;
  if (groups.length) {
    const faces = groups.reduce((a, r) => a + r.faces, 0);
    const found = groups.reduce((a, r) => a + r.found, 0);
    out['groups/1-6 people, 1080x1080-1920x1080'] = {
      images: groups.length,
      faces,
      found,
      falsePerImage: groups.reduce((a, r) => a + r.falseFaces, 0) / groups.length,
      meanIoU: meanOf(groups.map((r) => r.iou)),
      precision: meanOf(groups.map((r) => r.precision)),
      recall: meanOf(groups.map((r) => r.recall)),
      msPerImage: meanOf(groups.map((r) => r.ms)),
    };
  }
  return out;
}

/**
 * Skin-tone copies against their own photos (same images, paired): per set,
 * mean IoU, faces found and mean skin ITA of the photos and of each target's
 * copies, and the gap photo - darkest copy.
 */
function summariseTone(out: Summary, originals: FassegRow[], toned: FassegRow[]): void {
  const sets = [...new Set(originals.map((r) => r.set))];
  for (const set of sets) {
    const photos = new Map(originals.filter((r) => r.set === set).map((r) => [r.image, r]));
    const entry: Record<string, number> = {};
    let last: number | undefined;
    for (const target of TONE_TARGETS) {
      const rows = toned.filter((r) => r.set === `${set} ${toneSetSuffix(target)}` && photos.has(r.image));
      if (rows.length === 0) continue;
      const base = rows.map((r) => photos.get(r.image)!);
      entry.images = rows.length;
      entry.photoIoU = meanOf(base.map((r) => r.iou));
      entry.photoFound = base.filter((r) => r.found).length;
      entry.photoIta = meanOf(base.map((r) => r.ita));
      entry[`iou${target}`] = meanOf(rows.map((r) => r.iou));
      entry[`found${target}`] = rows.filter((r) => r.found).length;
      entry[`ita${target}`] = meanOf(rows.map((r) => r.ita));
      last = target;
    }
    if (last === undefined) continue;
    entry.gap = entry.photoIoU - entry[`iou${last}`];
    out[`tone/${set}`] = entry;
  }
}

/**
 * Hair-colour copies against their own photos (paired): per set, mean IoU
 * and precision of the photos and the copies, over all yaws and on turned
 * heads, and faces found.
 */
function summariseHair(out: Summary, originals: FassegRow[], toned: FassegRow[]): void {
  for (const set of [...new Set(originals.map((r) => r.set))]) {
    const photos = new Map(originals.filter((r) => r.set === set).map((r) => [r.image, r]));
    const copies = toned.filter((r) => r.set === `${set} ${HAIR_SET_SUFFIX}` && photos.has(r.image));
    if (copies.length === 0) continue;
    const base = copies.map((r) => photos.get(r.image)!);
    const turned = (rows: FassegRow[]): FassegRow[] => rows.filter((r) => Math.abs(r.yaw) >= TURNED_FROM);
    out[`hair/${set}`] = {
      images: copies.length,
      photoIoU: meanOf(base.map((r) => r.iou)),
      iou: meanOf(copies.map((r) => r.iou)),
      photoPrecision: meanOf(base.map((r) => r.precision)),
      precision: meanOf(copies.map((r) => r.precision)),
      turned: turned(copies).length,
      photoTurnedPrecision: meanOf(turned(base).map((r) => r.precision)),
      turnedPrecision: meanOf(turned(copies).map((r) => r.precision)),
      photoFound: base.filter((r) => r.found).length,
      found: copies.filter((r) => r.found).length,
    };
  }
}

/** Mask rows (FASSEG, CIHP): per set, per |yaw| when a set has several, by ITA third; dark sets against their originals. */
function summariseMasks(out: Summary, f: FassegRow[]): void {
  const group = (key: string, rows: FassegRow[]): void => {
    if (rows.length === 0) return;
    out[key] = {
      images: rows.length,
      found: rows.filter((r) => r.found).length,
      falseFaces: rows.reduce((a, r) => a + r.falseFaces, 0),
      meanIoU: meanOf(rows.map((r) => r.iou)),
      precision: meanOf(rows.map((r) => r.precision)),
      recall: meanOf(rows.map((r) => r.recall)),
      msPerImage: meanOf(rows.map((r) => r.ms)),
    };
  };
  for (const set of [...new Set(f.map((r) => r.set))]) {
    const rows = f.filter((r) => r.set === set);
    group(set, rows);
    if (new Set(rows.map((r) => r.yaw)).size > 1) {
      for (const yaw of [...new Set(rows.map((r) => Math.abs(r.yaw)))].sort((a, b) => a - b)) group(`${set} |yaw|=${yaw}`, rows.filter((r) => Math.abs(r.yaw) === yaw));
      group(`${set} |yaw|<=60`, rows.filter((r) => Math.abs(r.yaw) <= 60));
    }
    const ita = itaSummary(rows.map((r) => ({ ita: r.ita, value: r.iou, person: multiposePerson(r.image) })));
    if (ita) out[`ita/${set} IoU`] = ita;
    if (set.endsWith(' dark')) {
      const normal = f.filter((r) => r.set === set.slice(0, -' dark'.length)).filter((r) => r.found).length;
      out[set].foundVsNormal = normal ? rows.filter((r) => r.found).length / normal : NaN;
    }
  }
}

/**
 * Per person, for photo sets whose files name one (multipose01; not their
 * dark copies): the person's ITA (median over |yaw| <= 30, where the cheek
 * faces the camera, as split.ts describes the people), mean IoU and
 * precision, and precision on turned heads. An ITA third of a set with a few
 * people is mostly one or two of them; this says which, and whether a
 * shortfall is theirs alone.
 */
function summarisePersons(out: Summary, f: FassegRow[]): void {
  for (const set of [...new Set(f.map((r) => r.set))]) {
    if (set.endsWith(' dark')) continue;
    const byPerson = new Map<string, FassegRow[]>();
    for (const r of f.filter((row) => row.set === set)) {
      const person = multiposePerson(r.image);
      if (person === null) continue;
      const rows = byPerson.get(person) ?? [];
      rows.push(r);
      byPerson.set(person, rows);
    }
    if (byPerson.size < 2) continue;
    for (const [person, rows] of [...byPerson].sort(([a], [b]) => a.localeCompare(b))) {
      const facing = rows.filter((r) => Math.abs(r.yaw) <= 30 && Number.isFinite(r.ita));
      const turned = rows.filter((r) => Math.abs(r.yaw) >= TURNED_FROM);
      out[`person/${set} ${person}`] = {
        images: rows.length,
        ita: medianOf((facing.length ? facing : rows).map((r) => r.ita).filter(Number.isFinite)),
        meanIoU: meanOf(rows.map((r) => r.iou)),
        precision: meanOf(rows.map((r) => r.precision)),
        recall: meanOf(rows.map((r) => r.recall)),
        turned: turned.length,
        turnedPrecision: meanOf(turned.map((r) => r.precision)),
      };
    }
  }
}

/** People rows: heads found per set, over all sets, and by ITA third; the dark copies against the originals. */
function summarisePeople(out: Summary, p: PeopleRow[]): void {
  const counts = (rows: PeopleRow[]): Record<string, number> => ({
    images: rows.length,
    present: rows.reduce((a, r) => a + r.present, 0),
    found: rows.reduce((a, r) => a + r.found, 0),
    unmatchedFaces: rows.reduce((a, r) => a + r.unmatched, 0),
  });
  for (const set of [...new Set(p.map((r) => r.set))]) out[`people/${set}`] = counts(p.filter((r) => r.set === set));
  // people sets are a few images each: tone thirds over all of them together
  for (const dark of [false, true]) {
    const rows = p.filter((r) => r.set.endsWith(' dark') === dark);
    if (rows.length) out[`people/all${dark ? ' dark' : ''}`] = counts(rows);
    const ita = itaSummary(rows.flatMap((r) => r.heads.map((h) => ({ ita: h.ita, value: h.found ? 1 : 0 }))));
    if (ita) out[`ita/people${dark ? ' dark' : ''} found`] = ita;
  }
  // rates, not counts: each photo has several darkened draws
  const darkAll = out['people/all dark'];
  const all = out['people/all'];
  if (darkAll && all) darkAll.foundVsNormal = all.found && darkAll.present ? darkAll.found / darkAll.present / (all.found / all.present) : NaN;
}

const fmt = (v: number | undefined, d = 3): string => (v === undefined || Number.isNaN(v) ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(d));
const row = (cells: string[], first = 36): string => cells.map((s, i) => (i === 0 ? s.padEnd(first) : ` ${s}`.padStart(9))).join('');
const sectionOf = (summary: Summary, prefix: string): [string, Record<string, number>][] => Object.entries(summary).filter(([k]) => k.startsWith(prefix));

/** The rendered scenes' tables: small faces, and group photos. */
function formatScenes(summary: Summary): string[] {
  const lines: string[] = [];
  const small = sectionOf(summary, 'small/');
  if (small.length) {
    lines.push('');
    lines.push(row(['small faces', 'images', 'faces', 'found', 'rate', 'false/img', 'ms/img', 'found/nrm']));
    for (const [k, v] of small) lines.push(row([k.slice(6), fmt(v.images), fmt(v.faces), fmt(v.found), fmt(v.foundRate), fmt(v.falsePerImage, 2), fmt(v.msPerImage, 0), fmt(v.foundVsNormal)]));
  }
  const groups = sectionOf(summary, 'groups/');
  if (groups.length) {
    lines.push('');
    lines.push(row(['group photos (rendered, IoU above chins)', 'images', 'faces', 'found', 'false/img', 'IoU', 'prec', 'recall', 'ms/img'], 42));
    for (const [k, v] of groups) lines.push(row([k.slice(7), fmt(v.images), fmt(v.faces), fmt(v.found), fmt(v.falsePerImage, 2), fmt(v.meanIoU), fmt(v.precision), fmt(v.recall), fmt(v.msPerImage, 0)], 42));
  }
  return lines;
}

export function formatTable(summary: Summary): string {
  const lines: string[] = [];
  const section = (prefix: string): [string, Record<string, number>][] => sectionOf(summary, prefix);
  lines.push(row(['set', 'images', 'found', 'false', 'IoU', 'prec', 'recall', 'ms/img', 'found/nrm']));
  for (const [k, v] of Object.entries(summary)) {
    if (/^(people|person|ita|small|tone|hair|groups)\//.test(k)) continue;
    lines.push(row([k, fmt(v.images), fmt(v.found), fmt(v.falseFaces), fmt(v.meanIoU), fmt(v.precision), fmt(v.recall), fmt(v.msPerImage, 0), fmt(v.foundVsNormal)]));
  }
  const people = section('people/');
  if (people.length) {
    lines.push('');
    lines.push(row(['people set', 'images', 'faces', 'found', 'extra', 'found/nrm']));
    for (const [k, v] of people) lines.push(row([k, fmt(v.images), fmt(v.present), fmt(v.found), fmt(v.unmatchedFaces), fmt(v.foundVsNormal)]));
  }
  const ita = section('ita/');
  if (ita.length) {
    lines.push('');
    lines.push(row(['by ITA third (value, n, max ITA)', 'darker', 'n', 'ITA<=', 'middle', 'n', 'ITA<=', 'lighter', 'n', 'gap', 'people', 'top %']));
    // where rows name a person: people per third (darker/middle/lighter) and the commonest one's share of each, in %
    const per = (v: Record<string, number>, key: 'People' | 'Top', scale: number): string =>
      v.darkerPeople === undefined ? '' : ` ${['darker', 'middle', 'lighter'].map((t) => (v[`${t}${key}`] === undefined ? '-' : (scale * v[`${t}${key}`]).toFixed(0))).join('/')}`;
    for (const [k, v] of ita) {
      lines.push(row([k.slice(4), fmt(v.darker), fmt(v.darkerN), fmt(v.darkerIta, 0), fmt(v.middle), fmt(v.middleN), fmt(v.middleIta, 0), fmt(v.lighter), fmt(v.lighterN), fmt(v.gap), per(v, 'People', 1), per(v, 'Top', 100)]).trimEnd());
    }
  }
  const persons = section('person/');
  if (persons.length) {
    lines.push('');
    lines.push(row(['by person', 'images', 'ITA', 'IoU', 'prec', 'recall', 'turned', 'prec']));
    for (const [k, v] of persons) lines.push(row([k.slice(7), fmt(v.images), fmt(v.ita, 0), fmt(v.meanIoU), fmt(v.precision), fmt(v.recall), fmt(v.turned), fmt(v.turnedPrecision)]));
    lines.push(`(ITA: the person's median at |yaw| <= 30; turned: photos at |yaw| >= ${TURNED_FROM}, and their precision)`);
  }
  const tone = section('tone/');
  if (tone.length) {
    lines.push('');
    lines.push(row(['skin tone (same photos, skin darkened)', 'images', 'IoU', ...TONE_TARGETS.map((t) => `@${t}`), 'gap', 'found', ...TONE_TARGETS.map((t) => `@${t}`), 'ITA', ...TONE_TARGETS.map((t) => `@${t}`)], 40));
    for (const [k, v] of tone) {
      lines.push(row([k.slice(5), fmt(v.images), fmt(v.photoIoU), ...TONE_TARGETS.map((t) => fmt(v[`iou${t}`])), fmt(v.gap), fmt(v.photoFound), ...TONE_TARGETS.map((t) => fmt(v[`found${t}`])), fmt(v.photoIta, 0), ...TONE_TARGETS.map((t) => fmt(v[`ita${t}`], 0))], 40));
    }
  }
  const hair = section('hair/');
  if (hair.length) {
    lines.push('');
    lines.push(row(['hair like skin (same photos, hair recoloured)', 'images', 'IoU', 'copy', 'prec', 'copy', 'turned', 'prec', 'copy', 'found', 'copy'], 46));
    for (const [k, v] of hair) {
      lines.push(row([k.slice(5), fmt(v.images), fmt(v.photoIoU), fmt(v.iou), fmt(v.photoPrecision), fmt(v.precision), fmt(v.turned), fmt(v.photoTurnedPrecision), fmt(v.turnedPrecision), fmt(v.photoFound), fmt(v.found)], 46));
    }
  }
  lines.push(...formatScenes(summary));
  return lines.join('\n');
}
