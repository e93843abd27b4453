"""Grow a brush mask by some pixels, with Label Studio's own RLE codec.

Reads JSON on stdin: {"rle": [...], "width": W, "height": H, "grow": PX}
Writes JSON on stdout: {"rle": [...], "pixels_before": n, "pixels_after": m}

Decodes with label_studio_sdk.converter.brush.decode_rle, dilates the mask
(alpha > 0) with a disk of radius PX (numpy only), and encodes it again with
label_studio_sdk.converter.brush.mask2rle (the SDK's encoder: value 255 in all
four RGBA channels, which is what the labeling UI reads as painted).
It stands in for a labeler who paints a slightly larger face than predicted.
"""
import json
import sys

import numpy as np
from label_studio_sdk.converter.brush import decode_rle, mask2rle


def dilate(mask, r):
    h, w = mask.shape
    padded = np.pad(mask, r)
    out = np.zeros_like(mask)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy <= r * r:
                out |= padded[r + dy:r + dy + h, r + dx:r + dx + w]
    return out


def main():
    req = json.load(sys.stdin)
    w, h, r = int(req["width"]), int(req["height"]), int(req["grow"])
    flat = decode_rle(req["rle"])
    if flat.size != w * h * 4:
        raise SystemExit(f"decoded {flat.size} values, expected {w * h * 4}")
    mask = flat.reshape(h, w, 4)[:, :, 3] > 0
    grown = dilate(mask, r)
    rle = mask2rle(grown.astype(np.uint8) * 255)
    # round trip through the decoder, so a broken encoding fails here, not in the backend
    back = decode_rle(rle).reshape(h, w, 4)[:, :, 3] > 0
    if not np.array_equal(back, grown):
        raise SystemExit("mask2rle/decode_rle round trip differs")
    json.dump({"rle": [int(v) for v in rle], "pixels_before": int(mask.sum()), "pixels_after": int(grown.sum())}, sys.stdout)


if __name__ == "__main__":
    main()
