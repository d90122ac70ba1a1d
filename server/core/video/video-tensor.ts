/**
 * A clip → the encoder input a manifest's `video` section declares: which input frames are taken
 * (`sampleFrames`: the manifest's frame count out of any number of input frames, by time or by
 * index), the refusals of a clip the model cannot take (`checkFrameCount`), and the taken frames'
 * pixels as one [frames, 3, height, width] float tensor (`videoTensor`, normalised per RGB channel
 * as an image). Runtime-agnostic: the server feeds frames decoded and resized by sharp, the browser
 * canvas ImageData (RGBA).
 */
import { invalidArgument } from '../errors.ts';
import type { ImageSource } from '../generation/generate-request.ts';
import type { VideoSpec } from '../manifest.ts';

/**
 * The input frame shown at the middle of each of `spec.frames` equal spans of the clip (indices
 * into the input frames, in order; a frame may be taken twice when the clip has fewer frames than
 * the model takes). `uniform-time` spans the clip's duration, each input frame lasting its delay
 * (ms; a missing, zero or non-finite delay lasts as long as the others' mean, or 1 unit when none
 * has one); `uniform-index` counts each input frame as one unit.
 */
export function sampleFrames(count: number, spec: Pick<VideoSpec, 'frames' | 'sampling'>, delays?: readonly number[]): number[] {
  if (!(count >= 1)) throw invalidArgument('frames', 'the clip has no frames');
  let durations = Array.from({ length: count }, () => 1);
  if (spec.sampling === 'uniform-time' && delays && delays.length === count) {
    const known = delays.filter((d) => Number.isFinite(d) && d > 0);
    const fill = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1;
    durations = delays.map((d) => (Number.isFinite(d) && d > 0 ? d : fill));
  }
  const total = durations.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let k = 0;
  let end = durations[0];
  for (let i = 0; i < spec.frames; i++) {
    const t = ((i + 0.5) * total) / spec.frames;
    // the frame k with start <= t < end (the last frame for rounding at the very end)
    while (k < count - 1 && t >= end) end += durations[++k];
    out.push(k);
  }
  return out;
}

/** Refuses a clip of `count` frames the model does not take, naming `field` and the limits. */
export function checkFrameCount(count: number, spec: VideoSpec, field: string, what = 'frames'): void {
  if (count === 0) throw invalidArgument(field, `has no ${what}; the model takes clips of ${spec.minFrames}-${spec.maxFrames} frames`);
  if (count < spec.minFrames)
    throw invalidArgument(
      field,
      count === 1
        ? `is a still picture (1 frame); this video model takes clips of ${spec.minFrames}-${spec.maxFrames} frames (an animated GIF or WebP, or a list of frames)`
        : `has ${count} ${what}; the model takes at least ${spec.minFrames}`,
    );
  if (count > spec.maxFrames) throw invalidArgument(field, `has ${count} ${what}; the model takes at most ${spec.maxFrames}`);
}

/** One frame's interleaved 8-bit pixels, already width x height of the spec: 3 (RGB) or 4 (RGBA, alpha ignored) channels. */
export interface FramePixels {
  pixels: ArrayLike<number>;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** The sampled frames (exactly spec.frames of them, in order) as the encoder's [frames, 3, height, width] input. */
export function videoTensor(frames: readonly FramePixels[], spec: VideoSpec, field = 'frames'): ImageSource {
  if (frames.length !== spec.frames) throw invalidArgument(field, `must be sampled to ${spec.frames} frames first (got ${frames.length})`);
  const plane = spec.width * spec.height;
  const out = new Float32Array(spec.frames * 3 * plane);
  frames.forEach((f, t) => {
    if (f.width !== spec.width || f.height !== spec.height)
      throw invalidArgument(field, `frame ${t} must be resized to ${spec.width}x${spec.height} first (got ${f.width}x${f.height})`);
    if (f.pixels.length !== plane * f.channels) throw invalidArgument(field, `frame ${t} has ${f.pixels.length} values; ${spec.width}x${spec.height}x${f.channels} expected`);
    for (let c = 0; c < 3; c++) {
      const mean = spec.mean[c];
      const scale = 1 / spec.std[c];
      const base = (t * 3 + c) * plane;
      for (let i = 0; i < plane; i++) out[base + i] = (f.pixels[i * f.channels + c] - mean) * scale;
    }
  });
  return { pixels: out, dims: [spec.frames, 3, spec.height, spec.width] };
}
