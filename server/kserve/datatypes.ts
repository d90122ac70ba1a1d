import type { Tensor } from 'onnxruntime-common';

/** KServe v2 datatypes and the ONNX Runtime tensor types they map to. */
export const KSERVE_TO_ORT = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
} as const satisfies Record<string, Tensor.Type>;

export type KServeDatatype = keyof typeof KSERVE_TO_ORT;

const ORT_TO_KSERVE = Object.fromEntries(Object.entries(KSERVE_TO_ORT).map(([k, v]) => [v, k])) as Record<string, KServeDatatype>;

export function kserveDatatype(type: Tensor.Type): KServeDatatype {
  const dt = ORT_TO_KSERVE[type];
  if (!dt) throw new Error(`ONNX Runtime type ${type} has no KServe datatype`);
  return dt;
}

export function isKServeDatatype(s: string): s is KServeDatatype {
  return Object.hasOwn(KSERVE_TO_ORT, s);
}

/** Bytes per element in the raw (binary) encoding; BYTES elements are length-prefixed instead. */
export const ELEMENT_BYTES: Record<Exclude<KServeDatatype, 'BYTES'>, number> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** Integer ranges for JSON input validation. */
export const INT_RANGE: Partial<Record<KServeDatatype, [number, number]>> = {
  UINT8: [0, 255],
  INT8: [-128, 127],
  UINT16: [0, 65535],
  INT16: [-32768, 32767],
  UINT32: [0, 4294967295],
  INT32: [-2147483648, 2147483647],
};
