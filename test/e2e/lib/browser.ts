// Headless Chromium (Debian package `chromium`, driven by playwright-core):
// log in as the test user, open a predicted task, wait for the region list.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';

export function findChromium(): string {
  for (const c of [process.env.E2E_CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!c) continue;
    try {
      return execFileSync('bash', ['-c', `command -v ${c}`], { encoding: 'utf8' }).trim();
    } catch {
      /* next */
    }
  }
  throw new Error('no chromium binary found (apt-get install -y chromium)');
}

export interface BrowserCheckOptions {
  lsUrl: string;
  email: string;
  password: string;
  projectId: number;
  taskId: number;
  out: string;
  log: (msg: string) => void;
  /** Check that the mask is painted: on `face` (image pixels) the page must be redder than the photo, on `background` unchanged. */
  paintCheck?: { photo: string; face: [number, number]; background: [number, number] };
}

/** Mean RGB of a 7x7 patch. */
async function patch(img: ReturnType<typeof sharp>, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await img.clone().extract({ left: Math.round(x) - 3, top: Math.round(y) - 3, width: 7, height: 7 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) for (let c = 0; c < 3; c++) sum[c] += data[i + c];
  const n = data.length / info.channels;
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

async function assertPainted(page: Page, screenshot: Buffer, c: NonNullable<BrowserCheckOptions['paintCheck']>, log: (m: string) => void) {
  // the photo as LSF shows it: the largest <img> on the page
  const box = await page.evaluate(() => {
    let best: { x: number; y: number; w: number; h: number; nw: number; nh: number } | undefined;
    for (const img of Array.from(document.querySelectorAll('img'))) {
      const r = img.getBoundingClientRect();
      if (!best || r.width * r.height > best.w * best.h) best = { x: r.x, y: r.y, w: r.width, h: r.height, nw: img.naturalWidth, nh: img.naturalHeight };
    }
    return best;
  });
  if (!box || box.w < 50) throw new Error('photo element not found on the labeling page');
  const shot = sharp(screenshot);
  const photo = sharp(c.photo);
  const toPage = ([x, y]: [number, number]) => [box.x + (x / box.nw) * box.w, box.y + (y / box.nh) * box.h] as [number, number];
  const [pf, pb] = [await patch(shot, ...toPage(c.face)), await patch(shot, ...toPage(c.background))];
  const [of, ob] = [await patch(photo, ...c.face), await patch(photo, ...c.background)];
  const redness = (p: number[]) => p[0] - (p[1] + p[2]) / 2;
  const fmt = (p: number[]) => p.map(Math.round).join(',');
  log(`paint: face page ${fmt(pf)} vs photo ${fmt(of)}; background page ${fmt(pb)} vs photo ${fmt(ob)}`);
  if (!(redness(pf) - redness(of) >= 25)) throw new Error(`the face is not painted: page ${fmt(pf)} vs photo ${fmt(of)}`);
  const diff = Math.max(...pb.map((v, i) => Math.abs(v - ob[i])));
  if (!(diff <= 30)) throw new Error(`the background changed: page ${fmt(pb)} vs photo ${fmt(ob)}`);
}

export async function browserCheck(o: BrowserCheckOptions): Promise<string> {
  const browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    // root in CI: the sandbox needs user namespaces we may not have
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  let page: Page | undefined;
  try {
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    page = await ctx.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));

    await page.goto(`${o.lsUrl}/user/login/`, { waitUntil: 'domcontentloaded' });
    await page.fill('input[name="email"]', o.email);
    await page.fill('input[name="password"]', o.password);
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/user/login'), { timeout: 30_000 }), page.press('input[name="password"]', 'Enter')]);
    o.log(`logged in, at ${page.url()}`);

    await page.goto(`${o.lsUrl}/projects/${o.projectId}/data?task=${o.taskId}`, { waitUntil: 'domcontentloaded' });
    // The image must load and the region list (outliner) must show our region.
    await page.waitForSelector('.lsf-main-view img, [class*="image-view"] img, canvas', { timeout: 60_000 });
    const region = page.locator('[class*="outliner"] [class*="tree-node"], [class*="regions"] [class*="region-item"], .lsf-outliner-item').filter({ hasText: 'Face' });
    try {
      await region.first().waitFor({ state: 'visible', timeout: 60_000 });
    } catch (e) {
      await page.screenshot({ path: o.out.replace(/\.png$/, '-failed.png'), fullPage: true });
      await writeFile(o.out.replace(/\.png$/, '-failed.html'), await page.content());
      throw new Error(`no "Face" region in the region list: ${(e as Error).message.split('\n')[0]}; console errors: ${consoleErrors.slice(0, 5).join(' | ')}`);
    }
    await page.waitForTimeout(1500); // let the brush layer paint
    o.log(`region list: ${(await region.first().innerText()).replace(/\s+/g, ' ').slice(0, 120)}`);
    const png = await page.screenshot({ path: o.out });
    if (o.paintCheck) await assertPainted(page, png, o.paintCheck, o.log);
    return o.out;
  } finally {
    await browser.close();
  }
}
