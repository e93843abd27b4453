// The fixed tune / held-out split of ../shared/data. Engine constants are
// tuned on TUNE only; `faceseg eval` reports HELD-OUT by default.
//
// - multipose01-train: by person (the two digits after "personne" in the file
//   name; 7 people x 13 yaws x 2 sessions). Held out: people 04, 06 and 07,
//   chosen so both parts span skin tones (per-person ITA at |yaw| <= 30:
//   04 about -52, 07 about -16, 06 about +22; tune keeps 05 about -34,
//   03 about -29, 01 about +4, 02 about +14).
// - frontal02-train: file names carry no person id, so by image number:
//   1-10 tune, 11-20 held out.
// - people/ and cihp/: held out entirely (nothing is tuned on them).
export type Split = 'tune' | 'heldout';
export type SplitChoice = Split | 'all';

export const MULTIPOSE_HELDOUT_PEOPLE: readonly string[] = ['04', '06', '07'];
export const FRONTAL_TUNE_MAX = 10;

/** Person id of a multipose01 file name, e.g. "multipose01_p60_personne04250.jpg" -> "04". */
export function multiposePerson(file: string): string | null {
  const m = /personne(\d{2})\d+/.exec(file);
  return m ? m[1] : null;
}

/** Which part of the split an image of `set` belongs to. */
export function splitOf(set: string, file: string): Split {
  if (set === 'multipose01-train') {
    const p = multiposePerson(file);
    if (p === null) throw new Error(`multipose01 file name without a person id: ${file}`);
    return MULTIPOSE_HELDOUT_PEOPLE.includes(p) ? 'heldout' : 'tune';
  }
  if (set === 'frontal02-train') {
    const m = /frontal02_(\d+)\./.exec(file);
    if (!m) throw new Error(`frontal02 file name without a number: ${file}`);
    return Number(m[1]) <= FRONTAL_TUNE_MAX ? 'tune' : 'heldout';
  }
  return 'heldout';
}

export function inSplit(choice: SplitChoice, set: string, file: string): boolean {
  return choice === 'all' || splitOf(set, file) === choice;
}
