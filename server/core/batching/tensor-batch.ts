/** Stacking tensors of single sequences along a batch axis, and splitting a batched result back. */
import { Tensor } from 'onnxruntime-common';

type Data = Tensor['data'];

function sizes(dims: readonly number[], axis: number): { outer: number; inner: number } {
  let outer = 1;
  let inner = 1;
  dims.forEach((d, i) => {
    if (i < axis) outer *= d;
    else if (i > axis) inner *= d;
  });
  return { outer, inner };
}

function allocate(type: Tensor.Type, like: Data, n: number): Data {
  if (type === 'string') return new Array<string>(n);
  const ctor = (like as Float32Array).constructor as new (n: number) => Float32Array;
  return new ctor(n) as Data;
}

/** Concatenates tensors along `axis`; all other dimensions must agree. */
export function concatAlong(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 1) return tensors[0];
  const first = tensors[0];
  const dims = [...first.dims];
  const { outer, inner } = sizes(dims, axis);
  const total = tensors.reduce((a, t) => a + t.dims[axis], 0);
  const out = allocate(first.type, first.data, outer * total * inner) as unknown as { [i: number]: unknown; set?: (a: ArrayLike<unknown>, o: number) => void };
  let offset = 0;
  for (const t of tensors) {
    const rows = t.dims[axis] * inner;
    const src = t.data as unknown as ArrayLike<unknown> & { subarray?: (a: number, b: number) => ArrayLike<unknown> };
    for (let o = 0; o < outer; o++) {
      const from = o * rows;
      const to = o * total * inner + offset * inner;
      if (out.set && src.subarray) out.set(src.subarray(from, from + rows), to);
      else for (let i = 0; i < rows; i++) out[to + i] = src[from + i];
    }
    offset += t.dims[axis];
  }
  dims[axis] = total;
  return new Tensor(first.type, out as unknown as Data as Float32Array, dims);
}

/** Splits a tensor along `axis` into pieces of the given sizes. */
export function splitAlong(tensor: Tensor, axis: number, counts: readonly number[]): Tensor[] {
  if (counts.length === 1) return [tensor];
  const dims = [...tensor.dims];
  const { outer, inner } = sizes(dims, axis);
  const total = dims[axis];
  const src = tensor.data as unknown as ArrayLike<unknown> & { slice: (a: number, b: number) => ArrayLike<unknown> };
  let offset = 0;
  return counts.map((count) => {
    const out = allocate(tensor.type, tensor.data, outer * count * inner) as unknown as { [i: number]: unknown; set?: (a: ArrayLike<unknown>, o: number) => void };
    for (let o = 0; o < outer; o++) {
      const from = o * total * inner + offset * inner;
      const piece = src.slice(from, from + count * inner);
      if (out.set) out.set(piece, o * count * inner);
      else for (let i = 0; i < count * inner; i++) out[o * count * inner + i] = piece[i];
    }
    offset += count;
    const d = [...dims];
    d[axis] = count;
    return new Tensor(tensor.type, out as unknown as Data as Float32Array, d);
  });
}
