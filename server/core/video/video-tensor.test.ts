import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../errors.ts';
import type { VideoSpec } from '../manifest.ts';
import { checkFrameCount, sampleFrames, videoTensor } from './video-tensor.ts';

const spec: VideoSpec = { frames: 4, width: 2, height: 1, mean: [0, 10, 20], std: [1, 2, 4], sampling: 'uniform-time', minFrames: 2, maxFrames: 10 };

describe('sampleFrames', () => {
  it('takes every frame of a clip as long as the model takes, and the second frame of each pair of one twice as long', () => {
    expect(sampleFrames(4, spec)).toEqual([0, 1, 2, 3]);
    expect(sampleFrames(8, spec)).toEqual([1, 3, 5, 7]);
    expect(sampleFrames(8, spec, [50, 50, 50, 50, 50, 50, 50, 50])).toEqual([1, 3, 5, 7]);
  });

  it('repeats frames of a short clip', () => {
    expect(sampleFrames(2, spec)).toEqual([0, 0, 1, 1]);
    expect(sampleFrames(1, spec)).toEqual([0, 0, 0, 0]);
  });

  it('uniform-time follows the frame delays (a GIF merges identical frames into a longer one)', () => {
    // frame 1 lasts three frames: the clip is 0, 1, 1, 1 in time
    expect(sampleFrames(2, spec, [100, 300])).toEqual([0, 1, 1, 1]);
    // uniform-index ignores the delays
    expect(sampleFrames(2, { ...spec, sampling: 'uniform-index' }, [100, 300])).toEqual([0, 0, 1, 1]);
    // missing or zero delays last as long as the mean of the others; none known: equal
    expect(sampleFrames(4, spec, [0, 100, Number.NaN, 100])).toEqual([0, 1, 2, 3]);
    expect(sampleFrames(4, spec, [0, 0, 0, 0])).toEqual([0, 1, 2, 3]);
    // delays of another length than the frames are ignored
    expect(sampleFrames(2, spec, [100])).toEqual([0, 0, 1, 1]);
  });

  it('an empty clip is refused', () => {
    expect(() => sampleFrames(0, spec)).toThrow(SeqserveError);
  });
});

describe('checkFrameCount', () => {
  it('refuses none, a still picture, too few and too many, naming the field and the limits', () => {
    expect(() => checkFrameCount(0, spec, 'frames')).toThrow(/^frames: has no frames; the model takes clips of 2-10 frames/);
    expect(() => checkFrameCount(1, spec, 'image')).toThrow(/^image: is a still picture \(1 frame\)/);
    expect(() => checkFrameCount(2, { ...spec, minFrames: 3 }, 'frames')).toThrow(/has 2 frames; the model takes at least 3/);
    expect(() => checkFrameCount(11, spec, 'frames')).toThrow(/has 11 frames; the model takes at most 10/);
    expect(() => checkFrameCount(10, spec, 'frames')).not.toThrow();
  });
});

describe('videoTensor', () => {
  it('stacks the frames as [frames, 3, height, width], normalised per channel, RGB or RGBA', () => {
    const rgb = (v: number) => ({ pixels: [v, v + 10, v + 20, v + 1, v + 11, v + 21], width: 2, height: 1, channels: 3 as const });
    const rgba = (v: number) => ({ pixels: [v, v + 10, v + 20, 255, v + 1, v + 11, v + 21, 255], width: 2, height: 1, channels: 4 as const });
    const t = videoTensor([rgb(0), rgba(1), rgb(2), rgb(3)], spec);
    expect(t.dims).toEqual([4, 3, 1, 2]);
    // frame 1, channel 2 (blue): (21 - 20) / 4, (22 - 20) / 4
    expect([...t.pixels.slice((1 * 3 + 2) * 2, (1 * 3 + 2) * 2 + 2)]).toEqual([0.25, 0.5]);
    // frame 0, channel 1 (green): (10 - 10) / 2, (11 - 10) / 2
    expect([...t.pixels.slice(2, 4)]).toEqual([0, 0.5]);
  });

  it('refuses frames not sampled or not resized', () => {
    const f = { pixels: new Uint8Array(6), width: 2, height: 1, channels: 3 as const };
    expect(() => videoTensor([f, f, f], spec)).toThrow(/sampled to 4 frames/);
    expect(() => videoTensor([f, f, f, { ...f, width: 3 }], spec)).toThrow(/frame 3 must be resized to 2x1/);
  });
});
