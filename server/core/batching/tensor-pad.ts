/**
 * Padding a tensor up to a larger shape and cutting one back to a smaller one (the dynamic batcher
 * pads requests of different lengths to the longest and cuts each request's outputs back).
 * Runtime-agnostic.
 */
import { Tensor } from 'onnxruntime-common';

type Data = Tensor['data'];
type Writable = { [i: number]: unknown; length: number; fill?: (v: never) => unknown; set?: (a: ArrayLike<unknown>, o: number) => void };

/** The value `fill` as the tensor type stores it (bigint for 64-bit integers, '' for strings). */
function stored(type: Tensor.Type, fill: number): unknown {
  if (type === 'int64' || type === 'uint64') return BigInt(Math.trunc(fill));
  if (type === 'string') return '';
  if (type === 'bool') return fill ? 1 : 0;
  return fill;
}

/**
 * A tensor of shape `dims` holding `tensor`'s elements at the same indices wherever both shapes
 * have them (the leading corner), and `fill` elsewhere. Same rank; `tensor` itself when the shape
 * is already `dims`.
 */
export function resizeTensor(tensor: Tensor, dims: readonly number[], fill = 0): Tensor {
  const from = tensor.dims;
  if (from.length !== dims.length) throw new Error(`resizeTensor: rank ${from.length} to rank ${dims.length}`);
  if (from.every((d, i) => d === dims[i])) return tensor;
  const n = dims.reduce((a, b) => a * b, 1);
  const src = tensor.data as unknown as ArrayLike<unknown> & { subarray?: (a: number, b: number) => ArrayLike<unknown> };
  const out = (tensor.type === 'string' ? new Array<string>(n) : new (src.constructor as new (n: number) => Float32Array)(n)) as unknown as Writable;
  const value = stored(tensor.type, fill);
  for (let i = 0; i < n; i++) out[i] = value;
  const rank = dims.length;
  if (rank === 0) return tensor;
  // copy the common box one innermost run at a time
  const box = dims.map((d, i) => Math.min(d, from[i]));
  if (box.some((d) => d === 0)) return new Tensor(tensor.type, out as unknown as Data as Float32Array, [...dims]);
  const srcStride = new Array<number>(rank).fill(1);
  const dstStride = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) {
    srcStride[i] = srcStride[i + 1] * from[i + 1];
    dstStride[i] = dstStride[i + 1] * dims[i + 1];
  }
  const run = box[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  for (;;) {
    let s = 0;
    let d = 0;
    for (let i = 0; i < rank - 1; i++) {
      s += index[i] * srcStride[i];
      d += index[i] * dstStride[i];
    }
    if (out.set && src.subarray) out.set(src.subarray(s, s + run), d);
    else for (let k = 0; k < run; k++) out[d + k] = src[s + k];
    let i = rank - 2;
    while (i >= 0 && ++index[i] === box[i]) index[i--] = 0;
    if (i < 0) break;
  }
  return new Tensor(tensor.type, out as unknown as Data as Float32Array, [...dims]);
}
