// Headless Chromium (Debian package `chromium`, driven by playwright-core):
// log in as the test user, open a predicted task, wait for the region list.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { chromium, type Page } from 'playwright-core';

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
    await page.screenshot({ path: o.out });
    return o.out;
  } finally {
    await browser.close();
  }
}
