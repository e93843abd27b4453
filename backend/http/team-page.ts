// GET /ui: one HTML page for the labeling team. Everything is rendered here,
// plots included (inline SVG), so helmet's CSP needs no exception: no script,
// no external resource.
import { clamp } from '../util/num.js';
import type { TeamSummary, ProjectQuality } from '../learning/team-summary.js';
import type { TaskFailure } from './recent-failures.js';

export type { TeamSummary, ProjectQuality };

export interface TeamPageData {
  status: string;
  modelVersion: string;
  provider: string;
  startedAt: number;
  now: number;
  queue: { active: number; waiting: number; admitted: number; outstandingTasks: number; estimatedWaitMs: number };
  tasks: { ok: number; failed: number };
  failures: TaskFailure[];
  /** The refiner prior the server serves (REFINER_PRIOR): its id and how many corrected faces it was fitted on. */
  prior?: { id: string; faces: number };
  /** undefined: active learning is off. */
  team?: TeamSummary;
  teamError?: string;
}

const MAX_PROJECTS = 50;
const MAX_POINTS = 500;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/**
 * IoU of each correction over time: points, their running mean, and the 0.8
 * line under which a mask counts as needing a fix. Index on x (corrections
 * come in bursts; time on x would crowd them).
 */
export function iouPlot(series: ReadonlyArray<{ at: number; iou: number }>, calibratedAfter?: number): string {
  const W = 520;
  const H = 160;
  const L = 36;
  const B = 22;
  const pts = series.slice(-MAX_POINTS);
  const n = pts.length;
  const x = (i: number): number => L + (n <= 1 ? (W - L - 10) / 2 : (i / (n - 1)) * (W - L - 10));
  const y = (v: number): number => 8 + (1 - clamp(v, 0, 1)) * (H - B - 8);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="IoU of each correction">`);
  parts.push(`<rect x="${L}" y="8" width="${W - L - 10}" height="${H - B - 8}" fill="#fafafa" stroke="#ccc"/>`);
  for (const t of [0, 0.5, 0.8, 1]) {
    parts.push(`<line x1="${L}" x2="${W - 10}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="${t === 0.8 ? '#e0a040' : '#e4e4e4'}" stroke-dasharray="${t === 0.8 ? '4 3' : ''}"/>`);
    parts.push(`<text x="${L - 4}" y="${(y(t) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${t}</text>`);
  }
  if (n === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" font-size="12" text-anchor="middle" fill="#888">no corrections yet</text>`);
  } else {
    if (calibratedAfter !== undefined && calibratedAfter > 0 && calibratedAfter < n) {
      const cx = (x(calibratedAfter - 1) + x(calibratedAfter)) / 2;
      parts.push(`<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="8" y2="${H - B}" stroke="#6a5acd" stroke-dasharray="2 2"/>`);
      parts.push(`<text x="${(cx + 3).toFixed(1)}" y="18" font-size="10" fill="#6a5acd">calibrated</text>`);
    }
    let sum = 0;
    const mean: string[] = [];
    pts.forEach((p, i) => {
      sum += p.iou;
      mean.push(`${x(i).toFixed(1)},${y(sum / (i + 1)).toFixed(1)}`);
    });
    if (n > 1) parts.push(`<polyline points="${mean.join(' ')}" fill="none" stroke="#2b6cb0" stroke-width="2"/>`);
    pts.forEach((p, i) => {
      parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(p.iou).toFixed(1)}" r="3" fill="${p.iou < 0.8 ? '#d9534f' : '#5cb85c'}"><title>${escapeHtml(iso(p.at))}: IoU ${fmt(p.iou)}</title></circle>`);
    });
  }
  parts.push(`<text x="${L}" y="${H - 6}" font-size="10" fill="#555">corrections, oldest to newest (${n}); line: running mean; orange: IoU 0.8</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** A horizontal bar per count (queue, tasks). */
export function barPlot(bars: ReadonlyArray<{ label: string; value: number; colour: string }>): string {
  const W = 360;
  const row = 20;
  const H = bars.length * row + 6;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="counts">`];
  bars.forEach((b, i) => {
    const w = (Math.max(0, b.value) / max) * (W - 170);
    const yy = i * row + 4;
    parts.push(`<text x="0" y="${yy + 12}" font-size="12" fill="#333">${escapeHtml(b.label)}</text>`);
    parts.push(`<rect x="120" y="${yy}" width="${w.toFixed(1)}" height="14" fill="${b.colour}"/>`);
    parts.push(`<text x="${(124 + w).toFixed(1)}" y="${yy + 12}" font-size="12" fill="#333">${b.value}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function projectSection(p: ProjectQuality, minCorrections: number): string {
  const cal = p.calibration;
  const calibratedAfter = cal ? p.iouSeries.filter((s) => s.at <= cal.fittedAt).length : undefined;
  const learned = cal
    ? `<p>Calibrated ${escapeHtml(iso(cal.fittedAt))} on ${cal.corrections} corrections: model version <code>${escapeHtml(cal.modelVersion)}</code>.</p>` +
      (cal.changes.length
        ? `<table><tr><th>parameter</th><th>default</th><th>this project</th></tr>${cal.changes
            .map((c) => `<tr><td>${escapeHtml(c.name)}</td><td>${fmt(c.from, 2)}</td><td>${fmt(c.to, 2)}</td></tr>`)
            .join('')}</table>`
        : '<p>The fit kept the default parameters.</p>') +
      (cal.iouBefore !== undefined || cal.iouAfter !== undefined ? `<p>Mean IoU on those corrections: ${fmt(cal.iouBefore)} before, ${fmt(cal.iouAfter)} after.</p>` : '') +
      (cal.refiner
        ? `<p>Mask refiner ${cal.refiner.kept ? '<b>kept</b>' : 'not kept'}: IoU on ${cal.refiner.heldOut} held-out corrections ${fmt(cal.refiner.iouBefore)} with the masks in use, ${fmt(cal.refiner.iouAfter)} with the new refiner (${escapeHtml(cal.refiner.reason)}).</p>`
        : '')
    : `<p>Not calibrated yet${minCorrections > 0 ? `: calibration after ${minCorrections} corrections (${Math.max(0, minCorrections - p.corrections)} to go)` : ' (Start Training calibrates)'}.</p>`;
  return `<section class="project">
<h3>Project ${escapeHtml(p.project)} <small><code>${escapeHtml(p.modelVersion)}</code></small></h3>
<p class="figures"><b>${p.corrections}</b> corrections, <b>${p.changed}</b> changed a mask, <b>${p.facesMissed}</b> faces missed, <b>${p.facesFalse}</b> false faces, mean face IoU <b>${fmt(p.meanFaceIou)}</b></p>
${iouPlot(p.iouSeries, calibratedAfter)}
${learned}
</section>`;
}

export function renderTeamPage(d: TeamPageData): string {
  const failures = d.failures.length
    ? `<table><tr><th>when</th><th>project</th><th>task</th><th>reason</th><th>message</th></tr>${d.failures
        .map((f) => `<tr><td>${escapeHtml(iso(f.at))}</td><td>${escapeHtml(f.project ?? '-')}</td><td>${escapeHtml(f.taskId)}</td><td><code>${escapeHtml(f.reason)}</code></td><td>${escapeHtml(f.message)}</td></tr>`)
        .join('')}</table>`
    : '<p>No failed task since the start.</p>';
  let learning: string;
  if (d.teamError) learning = `<p class="bad">Could not read the learning figures: ${escapeHtml(d.teamError)}</p>`;
  else if (!d.team) learning = '<p>Active learning is off (ACTIVE_LEARNING=false or its store could not be opened).</p>';
  else if (d.team.projects.length === 0) learning = '<p>No project has sent predictions or corrections yet.</p>';
  else learning = d.team.projects.slice(0, MAX_PROJECTS).map((p) => projectSection(p, d.team!.minCorrections)).join('\n');
  const q = d.queue;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>faceseg: team page</title>
<link rel="icon" href="data:,">
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px} h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top} th{background:#f3f3f3}
code{font-size:12px;background:#f3f3f3;padding:1px 4px;border-radius:3px} .up{color:#2f855a;font-weight:bold} .bad{color:#c53030}
.cards{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start} .project{border:1px solid #e2e2e2;border-radius:6px;padding:4px 14px 10px;margin:10px 0}
small{font-weight:normal;color:#666}
</style></head><body>
<h1>faceseg <small>Label Studio ML backend</small></h1>
<p>Status <span class="${d.status === 'UP' ? 'up' : 'bad'}">${escapeHtml(d.status)}</span> · model version <code>${escapeHtml(d.modelVersion)}</code>${d.prior ? ` · refiner prior <code>${escapeHtml(d.prior.id)}</code> (fitted on ${d.prior.faces} corrected faces; projects without a refiner of their own get its masks)` : ''} · ${escapeHtml(d.provider)} · up ${duration(d.now - d.startedAt)} · page made ${escapeHtml(iso(d.now))}</p>
<h2>Work</h2>
<div class="cards">
<div><h3>Queue</h3>${barPlot([
    { label: 'requests admitted', value: q.admitted, colour: '#2b6cb0' },
    { label: 'tasks outstanding', value: q.outstandingTasks, colour: '#4299e1' },
    { label: 'engine busy', value: q.active, colour: '#38a169' },
    { label: 'waiting', value: q.waiting, colour: '#dd6b20' },
  ])}<p>Estimated wait ${duration(q.estimatedWaitMs)}.</p></div>
<div><h3>Tasks since start</h3>${barPlot([
    { label: 'predicted', value: d.tasks.ok, colour: '#38a169' },
    { label: 'failed', value: d.tasks.failed, colour: '#e53e3e' },
  ])}</div>
</div>
<h2>Recent failures</h2>
${failures}
<h2>Quality from the labelers' corrections</h2>
${learning}
</body></html>
`;
}
