/**
 * KServe v2 gRPC messages (as @grpc/proto-loader objects with snake_case fields and 64-bit integers
 * as strings) to and from the transport-independent InferRequest / InferResult.
 */
import { invalidArgument } from '../core/errors.ts';
import { sequenceParameters, taskParameters, type InferInput, type InferRequest, type InferResult } from './infer.ts';
import { tensorToRaw } from './tensor-codec.ts';

type Contents = Partial<
  Record<'bool_contents' | 'int_contents' | 'int64_contents' | 'uint_contents' | 'uint64_contents' | 'fp32_contents' | 'fp64_contents' | 'bytes_contents', unknown[]>
>;

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: { name: string; datatype: string; shape: (string | number)[]; contents: Contents | null }[];
  outputs: { name: string }[];
  raw_input_contents: Uint8Array[];
  parameters?: Record<string, GrpcInferParameter>;
}

/** An InferParameter as proto-loader decodes it (oneofs: the name of the set field; 64-bit integers as strings). */
export interface GrpcInferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
  double_param?: number;
  uint64_param?: string;
}

/** A parameter's value: 64-bit integers as numbers when they are safe integers (sequence ids), else as the decimal string. */
function parameterValue(p: GrpcInferParameter): unknown {
  const choice = p.parameter_choice;
  if (!choice) return undefined;
  const v = p[choice];
  if (choice === 'int64_param' || choice === 'uint64_param') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  return v;
}

const CONTENTS_FIELD: Record<string, keyof Contents> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

export function decodeGrpcInfer(msg: GrpcInferRequest): InferRequest {
  const raw = msg.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== msg.inputs.length)
    throw invalidArgument('raw_input_contents', `has ${raw.length} entries for ${msg.inputs.length} inputs; give one per input or none`);
  const inputs: InferInput[] = (msg.inputs ?? []).map((t, i) => {
    const shape = (t.shape ?? []).map(Number);
    const base = { name: t.name, datatype: t.datatype, shape };
    if (raw.length > 0) return { ...base, raw: raw[i] };
    const field = CONTENTS_FIELD[t.datatype];
    if (!field) throw invalidArgument(`inputs[${i}].contents`, `datatype ${t.datatype || '(empty)'} must be sent in raw_input_contents`);
    const data: unknown[] = t.contents?.[field] ?? [];
    // BYTES elements stay bytes: a graph gets them as text (checkInput refuses what ONNX Runtime
    // cannot carry, naming the element), a task model's file input as the file they are
    if (t.datatype === 'BYTES') return { ...base, bytes: data as Uint8Array[] };
    return { ...base, data };
  });
  const parameters = msg.parameters ? Object.fromEntries(Object.entries(msg.parameters).map(([k, p]) => [k, parameterValue(p)])) : undefined;
  const sequence = sequenceParameters(parameters);
  const rest = taskParameters(parameters);
  return {
    ...(msg.id ? { id: msg.id } : {}),
    ...(sequence ? { sequence } : {}),
    ...(rest ? { parameters: rest } : {}),
    inputs,
    ...(msg.outputs?.length ? { outputs: msg.outputs.map((o) => ({ name: o.name, binary: true })) } : {}),
    binaryOutputs: true,
  };
}

export function encodeGrpcInfer(result: InferResult): object {
  return {
    model_name: result.modelName,
    model_version: result.modelVersion,
    id: result.id ?? '',
    outputs: result.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
    raw_output_contents: result.outputs.map((o) => Buffer.from(tensorToRaw(o.tensor))),
  };
}
