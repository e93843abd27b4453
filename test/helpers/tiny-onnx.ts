// Build tiny ONNX models in tests, with protobufjs and a minimal subset of
// onnx.proto (field numbers as in onnx/onnx.proto, IR version 8).
import protobuf from 'protobufjs';

const ONNX_SUBSET = `
syntax = "proto3";
package onnx;
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  string name = 8;
}
message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  int32 type = 20;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string domain = 7;
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

export const FLOAT = 1;
export type Dim = number | string;

export interface TinyNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** ints (number[]), int (number), float (fractional number) attributes. */
  attrs?: Record<string, number | number[]>;
}

export interface TinyGraph {
  inputs: { name: string; shape: Dim[] }[];
  outputs: { name: string; shape: Dim[] }[];
  initializers: { name: string; dims: number[]; data: number[] }[];
  nodes: TinyNode[];
  opset?: number;
}

const valueInfo = (name: string, shape: Dim[]) => ({
  name,
  type: {
    tensor_type: {
      elem_type: FLOAT,
      shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  },
});

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** Serialise a float32 graph to ONNX bytes. */
export function buildOnnx(g: TinyGraph): Uint8Array {
  const model = {
    ir_version: 8,
    producer_name: 'faceseg-test-tiny-onnx',
    opset_import: [{ domain: '', version: g.opset ?? 13 }],
    graph: {
      name: 'tiny',
      input: g.inputs.map((i) => valueInfo(i.name, i.shape)),
      output: g.outputs.map((o) => valueInfo(o.name, o.shape)),
      initializer: g.initializers.map((t) => ({ name: t.name, dims: t.dims, data_type: FLOAT, float_data: t.data })),
      node: g.nodes.map((n, k) => ({
        name: `n${k}`,
        op_type: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([name, v]) =>
          Array.isArray(v)
            ? { name, ints: v, type: ATTR_INTS }
            : Number.isInteger(v)
              ? { name, i: v, type: ATTR_INT }
              : { name, f: v, type: ATTR_FLOAT },
        ),
      })),
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`tiny-onnx: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/**
 * A Nirkin-FCN-like face segmenter: input `data` [N,3,H,W] (BGR, mean
 * subtracted), output `score` [N,2,H,W] = a 1x1 convolution with fixed weights,
 * so class logits are a known affine function of each input pixel.
 */
export function nirkinLikeSegmenter(size: number, w: { bg: number[]; face: number[]; bias: [number, number] }): Uint8Array {
  return buildOnnx({
    inputs: [{ name: 'data', shape: ['N', 3, size, size] }],
    outputs: [{ name: 'score', shape: ['N', 2, size, size] }],
    initializers: [
      { name: 'W', dims: [2, 3, 1, 1], data: [...w.bg, ...w.face] },
      { name: 'B', dims: [2], data: [...w.bias] },
    ],
    nodes: [{ op: 'Conv', inputs: ['data', 'W', 'B'], outputs: ['score'], attrs: { kernel_shape: [1, 1] } }],
  });
}
