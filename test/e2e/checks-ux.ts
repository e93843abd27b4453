// End-to-end checks of what a labeling team meets (issue 14): the Data
// Manager's prediction score column with no manual step, a click on a face
// the automatic pass missed, and the team page in a browser.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { check, expect, log } from './lib/checks.js';
import { findChromium } from './lib/browser.js';
import type { LabelStudio } from './lib/ls.js';
import { rleToMask } from '../../backend/labelstudio/brush-rle.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The fixture times `factor` per channel: a nearly black photo with one person
 * (0.002: mean brightness about 0.2/255, as the photos the issue reported; the
 * engine brightens copies for its models, so a merely dim photo is no test).
 */
export async function darkCopy(src: string, out: string, factor = 0.002): Promise<string> {
  await sharp(src).linear(factor, 0).png().toFile(out);
  return out;
}

/**
 * A small copy of the photo pasted into a corner of a plain wall: the face is
 * too small for the automatic pass at full-image scale, not for a search
 * around a click. The wall stays under the size where the engine adds detector
 * tiles (1216 px), which would find the face on their own. Returns the file
 * and the face centre in image pixels.
 */
export async function smallFaceScene(src: string, out: string, side: number): Promise<{ file: string; face: [number, number]; size: [number, number] }> {
  const W = 1200;
  const H = 750;
  const small = await sharp(src).resize(side, side).png().toBuffer();
  const left = W - side - 120;
  const top = 90;
  await sharp({ create: { width: W, height: H, channels: 3, background: { r: 172, g: 168, b: 160 } } })
    .composite([{ input: small, left, top }])
    .png()
    .toFile(out);
  // the fixture's face centre is about (225, 140) of 512
  return { file: out, face: [left + (225 / 512) * side, top + (140 / 512) * side], size: [W, H] };
}

interface DmTask {
  id: number;
  predictions_score: number | null;
  predictions?: Array<{ score: number | null; model_version: string }>;
  data: Record<string, string>;
}

/** What the Data Manager does to sort by "Prediction score": a view with that ordering, then its task list. */
async function dmSortedByScore(ls: LabelStudio, projectId: number): Promise<DmTask[]> {
  const view = await ls.ok('POST', '/api/dm/views/', { project: projectId, data: { ordering: ['tasks:predictions_score'], filters: { conjunction: 'and', items: [] } } });
  const d = await ls.ok('GET', `/api/tasks/?project=${projectId}&view=${view.id}&fields=all&page=1&page_size=100`);
  return (d.tasks ?? d) as DmTask[];
}

/**
 * Project 7: connect the backend as the UI does (title "faceseg"), retrieve
 * predictions, and with nothing else done the Data Manager's score column is
 * filled and sorts the dark photo first.
 */
export async function scoreColumnCheck(
  ls: LabelStudio,
  o: { backendUrl: string; basic: { user: string; pass: string }; cfg: string; fixture: string; tmp: string; artifacts: string; modelVersion?: string },
): Promise<void> {
  const setup = await check('project 7: photo, its dark copy and a second photo; model connected with title "faceseg" (Label Studio sets the project\'s model_version to the title)', async () => {
    const p = await ls.createProject('e2e score column', o.cfg);
    const dark = await darkCopy(o.fixture, path.join(o.tmp, 'astronaut-dark.png'));
    await ls.uploadFile(p.id, o.fixture);
    await ls.uploadFile(p.id, dark);
    await ls.uploadFile(p.id, o.fixture);
    const a = await ls.request('POST', '/api/ml', {
      url: o.backendUrl, project: p.id, title: 'faceseg', is_interactive: true,
      auth_method: 'BASIC_AUTH', basic_auth_user: o.basic.user, basic_auth_pass: o.basic.pass,
    });
    expect(a.status === 201, `connect: ${a.status} ${a.text.slice(0, 300)}`);
    const proj = await ls.ok('GET', `/api/projects/${p.id}/`);
    log(`after connect: project.model_version = ${JSON.stringify(proj.model_version)}`);
    const tasks = await ls.tasks(p.id);
    const darkTask = tasks.find((t) => /astronaut-dark/.test(t.data.image ?? ''));
    expect(tasks.length === 3 && darkTask, `tasks ${JSON.stringify(tasks.map((t) => t.data))}`);
    return { pid: p.id, darkId: darkTask.id };
  });
  if (!setup) return;

  await check('score column: after Retrieve Predictions alone, the Data Manager (view ordered by tasks:predictions_score) shows every score and sorts the dark photo first', async () => {
    await ls.ok('POST', `/api/dm/actions?id=retrieve_tasks_predictions&project=${setup.pid}`, { selectedItems: { all: true, excluded: [] } }, 300_000);
    // the backend moves the project's model_version once Label Studio has stored the predictions
    const deadline = Date.now() + 45_000;
    let rows: DmTask[] = [];
    let version = '';
    while (Date.now() < deadline) {
      rows = await dmSortedByScore(ls, setup.pid);
      version = (await ls.ok('GET', `/api/projects/${setup.pid}/`)).model_version;
      if (rows.length === 3 && rows.every((r) => typeof r.predictions_score === 'number')) break;
      await sleep(1000);
    }
    await writeFile(path.join(o.artifacts, 'dm-sorted-by-score.json'), JSON.stringify({ model_version: version, tasks: rows }, null, 1));
    log(`project.model_version ${version}; DM order: ${rows.map((r) => `${r.id}${r.id === setup.darkId ? ' (dark)' : ''}=${r.predictions_score}`).join(', ')}`);
    expect(rows.length === 3, `${rows.length} tasks in the view`);
    expect(rows.every((r) => typeof r.predictions_score === 'number'), `empty score column: ${JSON.stringify(rows.map((r) => r.predictions_score))} (project model_version ${version})`);
    if (o.modelVersion) expect(version === o.modelVersion, `project model_version ${version}, our predictions carry ${o.modelVersion}`);
    for (const r of rows) {
      const own = (r.predictions ?? []).find((p) => p.model_version === version);
      expect(own && Math.abs((own.score ?? NaN) - (r.predictions_score as number)) < 1e-9, `task ${r.id}: column ${r.predictions_score}, prediction ${JSON.stringify(r.predictions?.map((p) => p.score))}`);
    }
    const scores = rows.map((r) => r.predictions_score as number);
    expect(scores.every((s, i) => i === 0 || scores[i - 1] <= s), `not ascending: ${scores}`);
    expect(rows[0].id === setup.darkId, `the dark photo (task ${setup.darkId}) is not first: ${rows.map((r) => r.id)}`);
    expect(scores[0] < 0.5 && scores[2] > 0.6, `scores do not separate the dark photo: ${scores}`);
  });

  await check('score column: the labeling stream\'s uncertainty sampling (next task) serves the dark photo first', async () => {
    await ls.ok('PATCH', `/api/projects/${setup.pid}/`, { sampling: 'Uncertainty sampling' });
    const next = await ls.ok('GET', `/api/projects/${setup.pid}/next/`);
    log(`next task: ${next.id}`);
    expect(next.id === setup.darkId, `next task ${next.id}, the dark photo is ${setup.darkId}`);
  });
}

/** A click on a face the automatic pass missed (a small face far from the others) returns that face. */
export async function missedFaceClickCheck(ls: LabelStudio, o: { backendUrl: string; cfg: string; fixture: string; tmp: string; artifacts: string }): Promise<void> {
  if (!o.cfg) return;
  await check('interactive: the automatic pass misses a small face; a positive click on it returns its mask (search around the click)', async () => {
    const scene = await smallFaceScene(o.fixture, path.join(o.tmp, 'small-face.png'), 60);
    const p = await ls.createProject('e2e missed face', o.cfg);
    await ls.uploadFile(p.id, scene.file);
    const [task] = await ls.tasks(p.id);
    const a = await ls.request('POST', '/api/ml', { url: o.backendUrl, project: p.id, title: 'faceseg', is_interactive: true });
    expect(a.status === 201, `connect: ${a.status} ${a.text.slice(0, 300)}`);
    await ls.ok('POST', `/api/dm/actions?id=retrieve_tasks_predictions&project=${p.id}`, { selectedItems: { all: true, excluded: [] } }, 300_000);
    const auto = (await ls.predictions(p.id)).filter((x) => x.task === task.id);
    const autoFaces = auto[0]?.result?.filter((r: any) => r.type === 'brushlabels').length ?? 0;
    log(`automatic pass: ${autoFaces} face(s), score ${auto[0]?.score}`);
    expect(autoFaces === 0, `the automatic pass already found ${autoFaces} face(s): the scene does not test a missed face`);
    const kp = /<KeyPointLabels\b[^>]*\bname="([^"]+)"/.exec(o.cfg)?.[1] ?? 'face_click';
    const [W, H] = scene.size;
    const click = (x: number, y: number, positive: boolean) => ({
      result: [{
        id: `c${x}`, from_name: kp, to_name: 'image', type: 'keypointlabels', origin: 'manual', is_positive: positive,
        original_width: W, original_height: H, image_rotation: 0,
        value: { x: (x / W) * 100, y: (y / H) * 100, width: 0.5, keypointlabels: ['Face'] },
      }],
    });
    const r = await ls.ok('POST', `/api/ml/${a.data.id}/interactive-annotating`, { task: task.id, context: click(scene.face[0], scene.face[1], true) });
    await writeFile(path.join(o.artifacts, 'interactive-missed-face.json'), JSON.stringify(r, null, 1).slice(0, 200_000));
    const brush = (r.data?.result ?? []).filter((x: any) => x.type === 'brushlabels');
    expect(brush.length === 1, `${brush.length} brush regions in ${JSON.stringify(r).slice(0, 300)}`);
    const mask = rleToMask(brush[0].value.rle, W, H);
    let [x0, y0, x1, y1, n] = [W, H, -1, -1, 0];
    mask.forEach((v, i) => {
      if (!v) return;
      const x = i % W;
      const y = Math.floor(i / W);
      [x0, y0, x1, y1, n] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y), n + 1];
    });
    log(`click at (${scene.face.map(Math.round)}): mask of ${n} px, box ${[x0, y0, x1, y1]}`);
    // the pasted photo's face is about 8 x 10 px here: the mask must sit on it, not on the wall
    const [fx, fy] = scene.face;
    expect(n > 20 && x0 <= fx && x1 >= fx && y0 <= fy + 4 && y1 >= fy - 4, `mask box ${[x0, y0, x1, y1]} does not cover the face at ${scene.face.map(Math.round)}`);
    expect(x1 - x0 < 40 && y1 - y0 < 50, `mask box ${[x0, y0, x1, y1]} is far larger than the face`);
    // a click on the empty wall returns nothing
    const wall = await ls.ok('POST', `/api/ml/${a.data.id}/interactive-annotating`, { task: task.id, context: click(300, 500, true) });
    const wallBrush = (wall.data?.result ?? []).filter((x: any) => x.type === 'brushlabels');
    expect(wallBrush.length === 0, `a click on the wall returned ${wallBrush.length} region(s)`);
  });
}

/** GET /ui in headless Chromium (basic auth), screenshot in the artifacts. */
export async function teamPageCheck(o: { backendUrl: string; basic: { user: string; pass: string }; out: string }): Promise<void> {
  await check('team page: GET /ui in headless Chromium shows status, model version, queue, failures with reasons and the learning plots (screenshot)', async () => {
    const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    try {
      const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 }, httpCredentials: { username: o.basic.user, password: o.basic.pass } });
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      // a browser at / is sent to the page; Label Studio at / still gets JSON (unit-tested)
      const resp = await page.goto(`${o.backendUrl}/`, { waitUntil: 'load' });
      expect(resp?.status() === 200 && new URL(page.url()).pathname === '/ui', `GET / in a browser: ${resp?.status()} at ${page.url()}`);
      const text = await page.innerText('body');
      expect(/Status\s+UP/.test(text), 'no "Status UP"');
      expect(/faceseg-[0-9a-f]{8}/.test(text), 'no model version');
      expect(/Recent failures/.test(text) && /not_found/.test(text), 'the 404 task of project 1 is not listed with its reason');
      expect(/Project \d+/.test(text), 'no project section');
      const svgs = await page.locator('svg').count();
      expect(svgs >= 3, `${svgs} plots`);
      await page.screenshot({ path: o.out, fullPage: true });
      expect(problems.length === 0, `browser errors: ${problems.join(' | ')}`);
      log(`team page: ${svgs} plots, screenshot ${o.out}`);
    } finally {
      await browser.close();
    }
  });
}
