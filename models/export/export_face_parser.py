"""The optional face parser: BiSeNet (19 CelebAMask-HQ classes) to ONNX, without torch.

Run by face-parser.sh. Reads the legacy (pre-zip) torch checkpoint with plain
pickle, folds every BatchNorm into its convolution and writes the inference
graph with onnx.helper. One output, `parse` [N, 2, S, S]: the probability of
face (skin, brows, eyes, glasses, ears, nose, mouth, lips) and of hair,
upsampled to the input size like the original (bilinear, corners aligned).

Usage: python export_face_parser.py CHECKPOINT OUT.onnx [SIZE, default 384]
"""
from __future__ import annotations

import pickle
import struct
import sys
from collections import OrderedDict

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DTYPES = {'FloatStorage': np.float32, 'LongStorage': np.int64, 'IntStorage': np.int32, 'HalfStorage': np.float16}


class _Storage:
    def __init__(self, kind: str, key: str, numel: int):
        self.kind, self.key, self.numel = kind, key, numel
        self.array: np.ndarray | None = None


class _TypeTag:
    def __init__(self, name: str):
        self.name = name


def _rebuild(storage: _Storage, offset: int, size, stride, *_rest):
    return ('tensor', storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages: dict):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == 'collections' and name == 'OrderedDict':
            return OrderedDict
        if module == 'torch._utils' and name in ('_rebuild_tensor_v2', '_rebuild_tensor'):
            return _rebuild
        if module == 'torch' and name.endswith('Storage'):
            return _TypeTag(name)
        raise pickle.UnpicklingError(f'unexpected global {module}.{name}')

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        _, tag, key, _loc, numel = pid[:5]
        if key not in self.storages:
            self.storages[key] = _Storage(tag.name, key, numel)
        return self.storages[key]


def load_legacy_checkpoint(path: str) -> dict[str, np.ndarray]:
    storages: dict[str, _Storage] = {}
    with open(path, 'rb') as f:
        magic = pickle.load(f)
        if magic != 0x1950A86A20F9469CFC6C:
            raise ValueError('not a legacy torch file')
        pickle.load(f)  # protocol version
        pickle.load(f)  # sys info
        state = _Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            st = storages[key]
            (numel,) = struct.unpack('<q', f.read(8))
            dt = np.dtype(DTYPES[st.kind])
            st.array = np.frombuffer(f.read(numel * dt.itemsize), dtype=dt)
    out: dict[str, np.ndarray] = {}
    for name, (_, st, offset, size, stride) in state.items():
        itemsize = st.array.dtype.itemsize
        arr = np.lib.stride_tricks.as_strided(st.array[offset:], shape=size, strides=[s * itemsize for s in stride])
        out[name] = np.array(arr, copy=True)
    return out


class Graph:
    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = weights
        self.used: set[str] = set()
        self.nodes: list = []
        self.inits: list = []
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f'{base}_{self.n}'

    def const(self, base: str, arr: np.ndarray) -> str:
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(arr, nm))
        return nm

    def take(self, key: str) -> np.ndarray:
        self.used.add(key)
        return self.w[key]

    def conv(self, x: str, prefix: str, bn: str | None, stride=1, pad=None, relu=False) -> str:
        """Conv (no bias) with the BatchNorm at `bn` folded in."""
        wt = self.take(f'{prefix}.weight').astype(np.float64)
        k = wt.shape[2]
        pad = (k // 2) if pad is None else pad
        if bn is not None:
            g, b = self.take(f'{bn}.weight'), self.take(f'{bn}.bias')
            m, v = self.take(f'{bn}.running_mean'), self.take(f'{bn}.running_var')
            self.used.add(f'{bn}.num_batches_tracked')
            s = g.astype(np.float64) / np.sqrt(v.astype(np.float64) + 1e-5)
            wt = wt * s[:, None, None, None]
            bias = b.astype(np.float64) - m.astype(np.float64) * s
        else:
            bias = None
        inputs = [x, self.const(prefix + '.w', wt.astype(np.float32))]
        if bias is not None:
            inputs.append(self.const(prefix + '.b', bias.astype(np.float32)))
        y = self.name(prefix)
        self.nodes.append(helper.make_node('Conv', inputs, [y], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4))
        return self.op('Relu', [y]) if relu else y

    def op(self, kind: str, inputs: list[str], **attrs) -> str:
        y = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [y], **attrs))
        return y

    def cbr(self, x: str, prefix: str, stride=1, pad=None) -> str:
        return self.conv(x, f'{prefix}.conv', f'{prefix}.bn', stride=stride, pad=pad, relu=True)

    def block(self, x: str, prefix: str, stride: int) -> str:
        r = self.conv(x, f'{prefix}.conv1', f'{prefix}.bn1', stride=stride, relu=True)
        r = self.conv(r, f'{prefix}.conv2', f'{prefix}.bn2')
        sc = x
        if f'{prefix}.downsample.0.weight' in self.w:
            sc = self.conv(x, f'{prefix}.downsample.0', f'{prefix}.downsample.1', stride=stride, pad=0)
        return self.op('Relu', [self.op('Add', [sc, r])])

    def up2(self, x: str) -> str:
        scales = self.const('scales2', np.array([1, 1, 2, 2], np.float32))
        return self.op('Resize', [x, '', scales], mode='nearest', coordinate_transformation_mode='asymmetric', nearest_mode='floor')

    def arm(self, x: str, prefix: str) -> str:
        feat = self.cbr(x, f'{prefix}.conv')
        att = self.op('GlobalAveragePool', [feat])
        att = self.op('Sigmoid', [self.conv(att, f'{prefix}.conv_atten', f'{prefix}.bn_atten', pad=0)])
        return self.op('Mul', [feat, att])


def build(weights: dict[str, np.ndarray], size: int, face_classes: list[int], hair_classes: list[int]) -> onnx.ModelProto:
    g = Graph(weights)
    x = 'input'
    r = 'cp.resnet'
    h = g.conv(x, f'{r}.conv1', f'{r}.bn1', stride=2, pad=3, relu=True)
    h = g.op('MaxPool', [h], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for i, stride in ((1, 1), (2, 2), (3, 2), (4, 2)):
        h = g.block(h, f'{r}.layer{i}.0', stride)
        h = g.block(h, f'{r}.layer{i}.1', 1)
        if i == 2:
            feat8 = h
        if i == 3:
            feat16 = h
    feat32 = h
    avg = g.cbr(g.op('GlobalAveragePool', [feat32]), 'cp.conv_avg', pad=0)
    s32 = g.op('Add', [g.arm(feat32, 'cp.arm32'), avg])  # 1x1 broadcast = nearest upsample of the pooled context
    up32 = g.cbr(g.up2(s32), 'cp.conv_head32')
    s16 = g.op('Add', [g.arm(feat16, 'cp.arm16'), up32])
    up16 = g.cbr(g.up2(s16), 'cp.conv_head16')
    fuse = g.cbr(g.op('Concat', [feat8, up16], axis=1), 'ffm.convblk', pad=0)
    att = g.op('GlobalAveragePool', [fuse])
    att = g.op('Relu', [g.conv(att, 'ffm.conv1', None, pad=0)])
    att = g.op('Sigmoid', [g.conv(att, 'ffm.conv2', None, pad=0)])
    fuse = g.op('Add', [g.op('Mul', [fuse, att]), fuse])
    logits = g.conv(g.cbr(fuse, 'conv_out.conv'), 'conv_out.conv_out', None, pad=0)
    probs = g.op('Softmax', [logits], axis=1)
    axis1 = g.const('axis1', np.array([1], np.int64))
    parts = []
    for nm, classes in (('face', face_classes), ('hair', hair_classes)):
        idx = g.const(nm + '_classes', np.array(classes, np.int64))
        parts.append(g.op('ReduceSum', [g.op('Gather', [probs, idx], axis=1), axis1], keepdims=1))
    # scales, not sizes: a batch of N crops keeps N (the logits are at 1/8 of the input side)
    scales = g.const('scales8', np.array([1, 1, 8, 8], np.float32))
    both = g.op('Concat', parts, axis=1)
    g.nodes.append(helper.make_node('Resize', [both, '', scales], ['parse'], mode='linear', coordinate_transformation_mode='align_corners'))
    # the auxiliary heads (conv_out16, conv_out32) only served training
    g.used.update(k for k in weights if k.startswith(('conv_out16.', 'conv_out32.')))
    unused = sorted(set(weights) - g.used)
    if unused:
        raise ValueError(f'weights not used: {unused[:8]}')
    graph = helper.make_graph(
        g.nodes, 'bisenet_face_parser',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 3, size, size])],
        [helper.make_tensor_value_info('parse', TensorProto.FLOAT, ['N', 2, size, size])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='label-studio-faceseg')
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def check_batch(path: str, size: int) -> None:
    """The engine sends every face of an image in one batch: two crops must give what each gives alone."""
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    x = np.random.RandomState(0).randn(2, 3, size, size).astype(np.float32)
    both = sess.run(None, {'input': x})[0]
    one = sess.run(None, {'input': x[1:]})[0]
    if both.shape != (2, 2, size, size) or not np.allclose(both[1], one[0], atol=1e-4):
        raise SystemExit(f'batch check failed: shape {both.shape}')
    if not (np.all(both >= -1e-6) and np.all(both <= 1 + 1e-5)):
        raise SystemExit('batch check failed: probabilities out of 0..1')


# CelebAMask-HQ order: 0 background, 1 skin, 2-3 brows, 4-5 eyes, 6 glasses, 7-8 ears, 9 earring,
# 10 nose, 11 mouth, 12-13 lips, 14 neck, 15 necklace, 16 cloth, 17 hair, 18 hat
FACE = [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13]
HAIR = [17]

if __name__ == '__main__':
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) == 4 else 384
    if size % 32:
        sys.exit(f'size {size}: give a multiple of 32')
    weights = load_legacy_checkpoint(src)
    model = build(weights, size, FACE, HAIR)
    onnx.save(model, dst)
    check_batch(dst, size)
    print(f'[face-parser] wrote {dst} ({len(weights)} tensors, {size}x{size}; a batch of 2 gives each crop its own answer)')
