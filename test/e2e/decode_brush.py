"""Decode brush regions with Label Studio's own decoder and measure them.

Reads JSON on stdin:
  {"regions": [{"rle": [...], "original_width": W, "original_height": H}, ...],
   "inner_box": [x0, y0, x1, y1],   # pixels that must be painted (the face core)
   "outer_box": [x0, y0, x1, y1]}   # painted pixels outside it count as "outside"
Writes JSON on stdout: one stats object per region.

The decoder is label_studio_sdk.converter.brush.decode_rle, the one that
label-studio-converter (now inside label-studio-sdk) uses to export brush masks.
"""
import json
import sys

import numpy as np
from label_studio_sdk.converter.brush import decode_rle


def box_mask(h, w, box):
    x0, y0, x1, y1 = box
    m = np.zeros((h, w), dtype=bool)
    m[max(0, y0):min(h, y1), max(0, x0):min(w, x1)] = True
    return m


def main():
    req = json.load(sys.stdin)
    out = []
    for region in req["regions"]:
        w, h = int(region["original_width"]), int(region["original_height"])
        stats = {"original_width": w, "original_height": h}
        try:
            flat = decode_rle(region["rle"])
        except Exception as e:  # a broken stream is a test failure, not a crash
            stats["error"] = f"decode_rle failed: {type(e).__name__}: {e}"
            out.append(stats)
            continue
        stats["decoded_len"] = int(flat.size)
        stats["expected_len"] = w * h * 4
        if flat.size != w * h * 4:
            out.append(stats)
            continue
        rgba = flat.reshape(h, w, 4)
        mask = rgba[:, :, 3] > 0  # the frontend paints pixels with non-zero alpha
        stats["pixels"] = int(mask.sum())
        stats["alpha_values"] = sorted(int(v) for v in np.unique(rgba[:, :, 3]))
        ys, xs = np.nonzero(mask)
        stats["bbox"] = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if xs.size else None
        inner = box_mask(h, w, req["inner_box"])
        outer = box_mask(h, w, req["outer_box"])
        stats["inner_coverage"] = float((mask & inner).sum() / max(1, inner.sum()))
        stats["outside_fraction"] = float((mask & ~outer).sum() / max(1, mask.sum()))
        out.append(stats)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
