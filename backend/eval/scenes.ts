// Rendered eval and bench scenes: heads cut out of FASSEG multipose photos
// (alpha from their label maps) over generated backgrounds. Shared by the
// benchmark (bench/images.ts) and the eval's small-face scenes; lives under
// backend/ so the product never imports bench/.
import path from 'node:path';
import sharp from 'sharp';

export interface FassegEntry {
  image: string;
  label: string;
  yaw: string;
}

/** RGBA pixels of a cut-out. */
export interface Cutout {
  width: number;
  height: number;
  rgba: Buffer;
}

/** A FASSEG photo with its label map (classes), as RGBA: cropped to the labelled box with alpha from the labels (`cut`), or whole and opaque. */
export interface LabelledPiece extends Cutout {
  label: Uint8Array;
}

export async function cutPiece(dir: string, e: FassegEntry, cut: boolean): Promise<LabelledPiece> {
  const img = await sharp(path.join(dir, e.image)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const lab = await sharp(path.join(dir, e.label)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = img.info;
  if (lab.info.width !== w || lab.info.height !== h) throw new Error(`${e.label}: size differs from ${e.image}`);
  let x0 = 0;
  let y0 = 0;
  let x1 = w - 1;
  let y1 = h - 1;
  if (cut) {
    [x0, y0, x1, y1] = [w, h, -1, -1];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (lab.data[y * w + x] === 0) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    if (x1 < 0) throw new Error(`${e.label}: no labelled pixels`);
  }
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const rgba = Buffer.alloc(cw * ch * 4);
  const label = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const si = (y0 + y) * w + (x0 + x);
      const di = y * cw + x;
      rgba[di * 4] = img.data[si * 3];
      rgba[di * 4 + 1] = img.data[si * 3 + 1];
      rgba[di * 4 + 2] = img.data[si * 3 + 2];
      rgba[di * 4 + 3] = !cut || lab.data[si] ? 255 : 0;
      label[di] = lab.data[si];
    }
  }
  return { width: cw, height: ch, rgba, label };
}

/** A head cut out of a FASSEG photo: RGBA, alpha from the label map (any labelled class). */
export async function cutHead(dir: string, e: FassegEntry): Promise<Cutout> {
  const { width, height, rgba } = await cutPiece(dir, e, true);
  return { width, height, rgba };
}

const hex = (r: () => number): string =>
  `#${[0, 1, 2].map(() => Math.floor(40 + r() * 180).toString(16).padStart(2, '0')).join('')}`;

/** A generated background: gradient, soft shapes and a few lines, as SVG. */
export function backgroundSvg(w: number, h: number, r: () => number): string {
  const shapes: string[] = [];
  for (let i = 0; i < 14; i++) {
    const x = Math.round(r() * w);
    const y = Math.round(r() * h);
    const s = Math.round((0.05 + r() * 0.3) * Math.min(w, h));
    const op = (0.25 + r() * 0.5).toFixed(2);
    shapes.push(
      r() < 0.5
        ? `<rect x="${x - s}" y="${y - s / 2}" width="${2 * s}" height="${s}" fill="${hex(r)}" opacity="${op}"/>`
        : `<ellipse cx="${x}" cy="${y}" rx="${s}" ry="${Math.round(s * (0.4 + r()))}" fill="${hex(r)}" opacity="${op}"/>`,
    );
  }
  for (let i = 0; i < 6; i++) {
    shapes.push(
      `<line x1="${Math.round(r() * w)}" y1="${Math.round(r() * h)}" x2="${Math.round(r() * w)}" y2="${Math.round(r() * h)}" stroke="${hex(r)}" stroke-width="${Math.round(2 + r() * 8)}" opacity="0.6"/>`,
    );
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="${r().toFixed(2)}" y2="1"><stop offset="0" stop-color="${hex(r)}"/><stop offset="1" stop-color="${hex(r)}"/></linearGradient></defs>` +
    `<rect width="${w}" height="${h}" fill="url(#g)"/>${shapes.join('')}</svg>`
  );
}

