import { describe, expect, it } from 'vitest';
import { COARSE_RULE, coarseAccepted, coarseAllowed, detectBeforePoses, detectWhole, frontal, MEDIUM_RULE, mediumAccepted, mediumSide } from '../../backend/pipeline/detector-size.js';
import type { FaceDetection, FaceDetectorPort, PersonPose } from '../../backend/pipeline/ports.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

/** A person whose ears are `earGap` apart (0: no head keypoint visible), with a body box of side `body`. */
function person(earGap: number, body: number): PersonPose {
  const keypoints = Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0 }));
  if (earGap > 0) {
    keypoints[3] = { x: 100, y: 100, score: 0.9 };
    keypoints[4] = { x: 100 + earGap, y: 100, score: 0.9 };
  }
  return { keypoints, box: { x: 0, y: 0, width: body, height: body }, score: 0.5 };
}

/** A detection of a face `side` wide: frontal landmarks, or (noseAt: where the nose sits along the eye line) a turned one. */
function face(side: number, noseAt = 0.5, eyeGap = 0.4): FaceDetection {
  const x = 10 + side / 2;
  const y = 10 + side * 0.5;
  const re = { x: x - (eyeGap * side) / 2, y };
  const le = { x: x + (eyeGap * side) / 2, y };
  const nose = { x: re.x + noseAt * (le.x - re.x), y: y + side * 0.2 };
  return { box: { x: 10, y: 10, width: side, height: side * 1.2 }, score: 0.9, landmarks: [re, le, nose, re, le] };
}

describe('coarseAllowed', () => {
  it('allows a portrait: no person, or only people with big heads or big bodies', () => {
    expect(coarseAllowed(400, 512, 640, [], 0.3)).toBe(true);
    expect(coarseAllowed(400, 512, 640, [person(0.6 * 512, 400)], 0.3)).toBe(true);
    expect(coarseAllowed(400, 512, 640, [person(0, 0.8 * 512)], 0.3)).toBe(true);
  });

  it('refuses when any person has a small head or, headless, a small body', () => {
    expect(coarseAllowed(1920, 1080, 640, [person(600, 900), person(0.1 * 1920, 400)], 0.3)).toBe(false);
    expect(coarseAllowed(1920, 1080, 640, [person(0, 0.3 * 1920)], 0.3)).toBe(false);
  });

  it('refuses large photos even with one big face: their small background faces need the full pass', () => {
    expect(coarseAllowed(1024, 768, 640, [], 0.3)).toBe(true);
    expect(coarseAllowed(1920, 1080, 640, [], 0.3)).toBe(false);
    expect(coarseAllowed(1080, 1920, 640, [person(0.5 * 1920, 1900)], 0.3)).toBe(false);
  });

  it('refuses when the detector input is not larger than the coarse one', () => {
    expect(coarseAllowed(400, 512, COARSE_RULE.side, [], 0.3)).toBe(false);
    expect(coarseAllowed(400, 512, 256, [], 0.3)).toBe(false);
  });
});

describe('coarseAccepted', () => {
  it('needs at least one face, every one at least minFace input pixels at the coarse scale', () => {
    // 512 px longest side -> coarse scale 256/512 = 0.5: 64 input px = 128 image px
    expect(coarseAccepted(400, 512, [])).toBe(false);
    expect(coarseAccepted(400, 512, [face(300)])).toBe(true);
    expect(coarseAccepted(400, 512, [face(128)])).toBe(true);
    expect(coarseAccepted(400, 512, [face(127)])).toBe(false);
    expect(coarseAccepted(400, 512, [face(300), face(60)])).toBe(false);
  });

  it('refuses a turned face, whose box moves with the input size', () => {
    expect(coarseAccepted(400, 512, [face(300, 0.9)])).toBe(false);
  });
});

describe('frontal', () => {
  it('wants the eyes well apart and the nose between them', () => {
    expect(frontal(face(200))).toBe(true);
    expect(frontal(face(200, 0.7))).toBe(true);
    expect(frontal(face(200, 0.8))).toBe(false);
    expect(frontal(face(200, 0.1))).toBe(false);
    expect(frontal(face(200, 0.5, 0.2))).toBe(false);
    expect(frontal({ ...face(200), landmarks: [] })).toBe(false);
  });

  it('follows the eye line of a rolled face', () => {
    const d = face(200);
    const c = { x: 110, y: 110 };
    const rot = (p: { x: number; y: number }) => ({ x: c.x - (p.y - c.y), y: c.y + (p.x - c.x) }); // 90 degrees
    expect(frontal({ ...d, landmarks: d.landmarks.map(rot) })).toBe(true);
  });
});

/** A 400x512 portrait for the whole-image passes. */
const view: RgbImage = { width: 400, height: 512, data: new Uint8Array(400 * 512 * 3) };

/** A variable-size detector answering `coarse` at any other size and `full` at its own, naming each call. */
function fakeDetector(coarse: FaceDetection[], full: FaceDetection[]) {
  const calls: string[] = [];
  const d: FaceDetectorPort = {
    inputSide: 640,
    detect: async () => (calls.push('full'), full),
    detectAt: async (_img, _t, side) => (calls.push(`at ${side}`), coarse),
  };
  return { d, calls };
}

describe('detectWhole', () => {
  it('keeps the coarse answer when it holds only large faces', async () => {
    const { d, calls } = fakeDetector([face(300)], [face(280)]);
    expect(await detectWhole(d, view, [], 0.3, 0.3)).toEqual([face(300)]);
    expect(calls).toEqual([`at ${COARSE_RULE.side}`]);
  });

  it('falls back to the full-size pass when the coarse pass finds nothing, a small face or a turned one', async () => {
    for (const coarse of [[], [face(300), face(40)], [face(300, 1.1)]]) {
      const { d, calls } = fakeDetector(coarse, [face(280)]);
      expect(await detectWhole(d, view, [], 0.3, 0.3)).toEqual([face(280)]);
      expect(calls).toEqual([`at ${COARSE_RULE.side}`, 'full']);
    }
  });

  it('goes straight to the full-size pass when a person has a small head, or the detector has a fixed size', async () => {
    const { d, calls } = fakeDetector([face(300)], [face(280)]);
    expect(await detectWhole(d, view, [person(20, 100)], 0.3, 0.3)).toEqual([face(280)]);
    expect(calls).toEqual(['full']);
    const fixed: FaceDetectorPort = { inputSide: 256, detect: async () => [face(10)] };
    expect(await detectWhole(fixed, view, [], 0.3, 0.3)).toEqual([face(10)]);
  });
});

describe('detectBeforePoses', () => {
  it('stops at the coarse pass when its answer stands; detectWhole with no small head then runs nothing more', async () => {
    const { d, calls } = fakeDetector([face(300)], [face(280)]);
    const early = await detectBeforePoses(d, view, 0.3);
    expect(early).toEqual({ coarse: [face(300)], answer: [face(300)], weak: [] });
    expect(await detectWhole(d, view, [], 0.3, 0.3, early)).toEqual([face(300)]);
    expect(calls).toEqual([`at ${COARSE_RULE.side}`]);
  });

  it('runs the full pass at once when the coarse answer does not stand, and detectWhole reuses it whatever the poses', async () => {
    const { d, calls } = fakeDetector([face(300, 1.1)], [face(280)]);
    const early = await detectBeforePoses(d, view, 0.3);
    expect(early.answer).toEqual([face(280)]);
    expect(await detectWhole(d, view, [], 0.3, 0.3, early)).toEqual([face(280)]);
    expect(await detectWhole(d, view, [person(20, 100)], 0.3, 0.3, early)).toEqual([face(280)]);
    expect(calls).toEqual([`at ${COARSE_RULE.side}`, 'full']);
  });

  it('a person with a small head still gets the full pass after an accepted coarse one, as without the early passes', async () => {
    const { d, calls } = fakeDetector([face(300)], [face(280)]);
    const early = await detectBeforePoses(d, view, 0.3);
    expect(await detectWhole(d, view, [person(20, 100)], 0.3, 0.3, early)).toEqual([face(280)]);
    expect(calls).toEqual([`at ${COARSE_RULE.side}`, 'full']);
  });

  it('runs at the weak threshold and cuts at the real one (strictly above, as the detector does): the same answer, plus the weak detections', async () => {
    const thresholds: number[] = [];
    const weak = { ...face(40), score: 0.2 };
    const edge = { ...face(50), score: 0.3 };
    const d: FaceDetectorPort = {
      inputSide: 640,
      detect: async () => [],
      detectAt: async (_img, t) => (thresholds.push(t), [face(300), edge, weak].filter((x) => x.score > t)),
    };
    const early = await detectBeforePoses(d, view, 0.3, 0.15);
    expect(thresholds).toEqual([0.15]);
    expect(early.answer).toEqual([face(300)]);
    expect(early.weak).toEqual([edge, weak]);
  });

  it('a fixed-size detector: its one pass is the answer', async () => {
    const calls: string[] = [];
    const fixed: FaceDetectorPort = { inputSide: 256, detect: async () => (calls.push('full'), [face(10)]) };
    const early = await detectBeforePoses(fixed, view, 0.3);
    expect(early.answer).toEqual([face(10)]);
    expect(await detectWhole(fixed, view, [], 0.3, 0.3, early)).toEqual([face(10)]);
    expect(calls).toEqual(['full']);
  });
});

/** A person as person(), with the nose keypoint visible at `nose`. */
function withNose(earGap: number, nose: { x: number; y: number }): PersonPose {
  const p = person(earGap, 400);
  p.keypoints[0] = { ...nose, score: 0.9 };
  return p;
}

/** A 1280x720 group photo for the medium pass. */
const group: RgbImage = { width: 1280, height: 720, data: new Uint8Array(1280 * 720 * 3) };

describe('mediumSide', () => {
  it('puts the smallest head at minHeadPx input pixels, rounded up to the stride', () => {
    // 56 * 1280 / 162 = 442.5 -> 448
    expect(mediumSide(1280, 720, 640, [person(300, 400), person(162, 400)], 0.3)).toBe(448);
    expect(MEDIUM_RULE.minHeadPx).toBe(56);
  });

  it('never goes below minSide', () => {
    expect(mediumSide(1920, 1080, 640, [person(900, 1000)], 0.3)).toBe(MEDIUM_RULE.minSide);
  });

  it('does not run when the saving would be small, or nothing tells the heads apart', () => {
    // 56 * 1280 / 100 = 717 px: more than 0.8 of the full side
    expect(mediumSide(1280, 720, 640, [person(300, 400), person(100, 400)], 0.3)).toBeNull();
    expect(mediumSide(1280, 720, 640, [], 0.3)).toBeNull();
    expect(mediumSide(1280, 720, 640, [person(300, 400), person(0, 400)], 0.3)).toBeNull();
  });

  it('leaves images the coarse pass covers, and images no larger than the full input, alone', () => {
    expect(mediumSide(1024, 768, 640, [person(400, 700)], 0.3)).toBeNull();
    expect(mediumSide(1280, 720, 1280, [person(400, 700)], 0.3)).toBeNull();
  });
});

describe('mediumAccepted', () => {
  // 1280 px longest side at 448: scale 0.35, so minFace (40 input px) is 115 image px
  it('needs faces, every one at least minFace input pixels at its scale', () => {
    expect(mediumAccepted(1280, 720, 448, [], [], [], 0.3)).toBe(false);
    expect(mediumAccepted(1280, 720, 448, [face(200), face(120)], [], [], 0.3)).toBe(true);
    expect(mediumAccepted(1280, 720, 448, [face(200), face(110)], [], [], 0.3)).toBe(false);
  });

  it('keeps turned faces (their boxes hardly move between these sizes), but not a half-seen one', () => {
    expect(mediumAccepted(1280, 720, 448, [face(200, 0.95)], [], [], 0.3)).toBe(true);
    expect(mediumAccepted(1280, 720, 448, [face(200)], [{ ...face(150), score: 0.2 }], [], 0.3)).toBe(false);
  });

  it('wants every person whose nose is visible inside a face: else the full pass may find that face', () => {
    const inside = withNose(160, { x: 100, y: 100 });
    const outside = withNose(160, { x: 900, y: 400 });
    expect(mediumAccepted(1280, 720, 448, [face(200)], [], [inside], 0.3)).toBe(true);
    expect(mediumAccepted(1280, 720, 448, [face(200)], [], [inside, outside], 0.3)).toBe(false);
    // a person seen from behind (no nose): nothing to match
    expect(mediumAccepted(1280, 720, 448, [face(200)], [], [person(160, 400)], 0.3)).toBe(true);
  });
});

describe('detectWhole on a large image', () => {
  const people = [person(300, 400), person(162, 400)];

  it('answers from the medium pass when it stands, cut at the threshold', async () => {
    const thresholds: number[] = [];
    const d: FaceDetectorPort = {
      inputSide: 640,
      detect: async () => [face(190)],
      detectAt: async (_img, t, side) => (thresholds.push(t, side), [face(200)]),
    };
    expect(await detectWhole(d, group, people, 0.3, 0.3)).toEqual([face(200)]);
    expect(thresholds).toEqual([MEDIUM_RULE.weakShare * 0.3, 448]);
  });

  it('falls back to the full pass when the medium answer does not stand', async () => {
    for (const medium of [[], [face(200), face(60)], [face(200), { ...face(150), score: 0.2 }]]) {
      const { d, calls } = fakeDetector(medium, [face(190)]);
      expect(await detectWhole(d, group, people, 0.3, 0.3)).toEqual([face(190)]);
      expect(calls).toEqual(['at 448', 'full']);
    }
  });

  it('goes straight to the full pass without people, with a small head, or with the medium pass turned off', async () => {
    for (const [poses, medium] of [[[], true], [[person(300, 400), person(60, 400)], true], [people, false]] as const) {
      const { d, calls } = fakeDetector([face(200)], [face(190)]);
      expect(await detectWhole(d, group, poses, 0.3, 0.3, undefined, medium)).toEqual([face(190)]);
      expect(calls).toEqual(['full']);
    }
  });
});
