import { describe, expect, it } from 'vitest';
import { imageTensor } from './image-tensor.ts';

const spec = { width: 2, height: 1, mean: [10, 20, 30] as [number, number, number], std: [2, 4, 5] as [number, number, number] };

describe('imageTensor', () => {
  it('normalises RGB into channel planes', () => {
    const t = imageTensor([12, 24, 35, 10, 20, 30], 2, 1, 3, spec);
    expect(t.dims).toEqual([3, 1, 2]);
    expect(Array.from(t.pixels)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('ignores alpha in RGBA input', () => {
    const t = imageTensor([12, 24, 35, 255, 10, 20, 30, 0], 2, 1, 4, spec);
    expect(Array.from(t.pixels)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('refuses pixels of the wrong size', () => {
    expect(() => imageTensor([1, 2, 3], 1, 1, 3, spec)).toThrow(/resized to 2x1/);
    expect(() => imageTensor([1, 2, 3], 2, 1, 3, spec)).toThrow(/2x1x3 expected/);
  });
});
