/**
 * One encoder run for several sources: their input stacked into one tensor (token ids padded to the
 * longest, or images of one size), and the run's outputs split back into each source's row data
 * (its memory cut to its own length, and its initial decoder states) for the decode batch.
 */
import { Tensor } from 'onnxruntime-common';
import { splitAlong } from '../batching/tensor-batch.ts';
import { invalidArgument } from '../errors.ts';
import type { TensorMap } from '../graph-runner.ts';
import type { RowData } from './decode-batch.ts';
import type { ImageSource } from './generate-request.ts';
import type { Seq2SeqModel } from './seq2seq-model.ts';

export type Source = number[] | ImageSource;

/** The encoder's input for several sources: padded token ids, or stacked images or clips (all of one size). */
export function encoderInput(sources: readonly Source[], pad: number): Tensor {
  if (sources.every((s) => Array.isArray(s))) {
    const S = Math.max(...sources.map((s) => s.length));
    const ids = new BigInt64Array(sources.length * S).fill(BigInt(pad));
    sources.forEach((s, i) => s.forEach((t, j) => (ids[i * S + j] = BigInt(t))));
    return new Tensor('int64', ids, [sources.length, S]);
  }
  const images = sources as ImageSource[];
  const dims = images[0].dims;
  const size = dims.reduce((a, b) => a * b, 1);
  const pixels = new Float32Array(images.length * size);
  images.forEach((img, i) => {
    if (img.pixels.length !== size || img.dims.some((d, j) => d !== dims[j])) throw invalidArgument('image', `images in one encoder run must all be ${dims.join('x')}`);
    pixels.set(img.pixels, i * size);
  });
  return new Tensor('float32', pixels, [images.length, ...dims]);
}

/** Each source's memory and initial decoder states from one encoder run over `input`. */
export function encoderRows(model: Seq2SeqModel, sources: readonly Source[], input: Tensor, out: TensorMap): RowData[] {
  const { spec } = model;
  // memory rows are as long as their source (tokens), or the encoder's output length (image regions)
  const S = Array.isArray(sources[0]) ? input.dims[1] : out[spec.encoder.memory[0]].dims[1];
  // each initial state split into one batch-1 tensor per source
  const initial = Object.entries(spec.encoder.initialStates).map(([state, output]) => ({
    state,
    rows: splitAlong(
      out[output],
      model.states[state].batchAxis,
      sources.map(() => 1),
    ),
  }));
  return sources.map((s, i) => {
    const length = Array.isArray(s) ? s.length : S;
    const memory: TensorMap = {};
    for (const name of spec.encoder.memory) {
      const t = out[name];
      const inner = t.dims.slice(2).reduce((a, b) => a * b, 1);
      const data = (t.data as Float32Array).slice(i * S * inner, (i * S + length) * inner);
      memory[name] = new Tensor('float32', data, [1, length, ...t.dims.slice(2)]);
    }
    const states: TensorMap = Object.fromEntries(initial.map(({ state, rows }) => [state, rows[i]]));
    return { memory, states };
  });
}
