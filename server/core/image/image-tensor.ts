/**
 * Image pixels → the encoder input a manifest declares: [3, height, width] floats, (pixel - mean) / std
 * per RGB channel. The server feeds it pixels decoded and resized by sharp; the browser feeds canvas
 * ImageData (RGBA). Both must already be width x height.
 */
import { invalidArgument } from '../errors.ts';
import type { ImageSource } from '../generation/generation-engine.ts';
import type { ImageSpec } from '../manifest.ts';

/** Interleaved 8-bit pixels with 3 (RGB) or 4 (RGBA, alpha ignored) channels, row-major. */
export function imageTensor(pixels: ArrayLike<number>, width: number, height: number, channels: 3 | 4, spec: ImageSpec): ImageSource {
  if (width !== spec.width || height !== spec.height) throw invalidArgument('image', `must be resized to ${spec.width}x${spec.height} first (got ${width}x${height})`);
  if (pixels.length !== width * height * channels) throw invalidArgument('image', `has ${pixels.length} values; ${width}x${height}x${channels} expected`);
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = spec.mean[c];
    const scale = 1 / spec.std[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = (pixels[i * channels + c] - mean) * scale;
  }
  return { pixels: out, dims: [3, height, width] };
}
