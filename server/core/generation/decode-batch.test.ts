import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import { DecodeBatch, type RowData } from './decode-batch.ts';

/** A row whose memory is S positions of [value, value] and whose 2-layer state is [layer0=value, layer1=-value]. */
function row(value: number, S: number): RowData {
  return {
    memory: { memory: new Tensor('float32', new Float32Array(S * 2).fill(value), [1, S, 2]), mask: new Tensor('float32', new Float32Array(S).fill(1), [1, S]) },
    states: { h: new Tensor('float32', Float32Array.of(value, value, -value, -value), [2, 1, 2]) },
  };
}

describe('DecodeBatch', () => {
  it('pads memory to the longest row, keeps states per row, and moves the last row into a removed one', () => {
    const batch = new DecodeBatch<string>({ h: 1 }, 1);
    batch.add('a', row(1, 2));
    batch.add('b', row(2, 3)); // longer: re-pads and grows
    batch.add('c', row(3, 1));
    let f = batch.feeds();
    expect(f.memory.dims).toEqual([3, 3, 2]);
    expect(Array.from(f.mask.data as Float32Array)).toEqual([1, 1, 0, 1, 1, 1, 1, 0, 0]);
    expect(Array.from((f.memory.data as Float32Array).subarray(0, 6))).toEqual([1, 1, 1, 1, 0, 0]);
    expect(f.h.dims).toEqual([2, 3, 2]);
    expect(Array.from(f.h.data as Float32Array)).toEqual([1, 1, 2, 2, 3, 3, -1, -1, -2, -2, -3, -3]);

    expect(batch.remove(0)).toEqual({ moved: 'c', to: 0 });
    f = batch.feeds();
    expect([batch.owner(0), batch.owner(1)]).toEqual(['c', 'b']);
    expect(batch.sourceLength(0)).toBe(1);
    expect(Array.from(f.mask.data as Float32Array)).toEqual([1, 0, 0, 1, 1, 1]);
    expect(Array.from(f.h.data as Float32Array)).toEqual([3, 3, 2, 2, -3, -3, -2, -2]);
  });

  it('takes new states from a step, reorders them for beams, and extracts a row unpadded', () => {
    const batch = new DecodeBatch<string>({ h: 1 });
    batch.add('a', row(1, 2));
    batch.add('b', row(2, 2));
    batch.updateStates({ h: new Tensor('float32', Float32Array.of(10, 10, 20, 20, -10, -10, -20, -20), [2, 2, 2]) });
    batch.reorderStates([0, 1], [1, 1]);
    expect(Array.from(batch.feeds().h.data as Float32Array)).toEqual([20, 20, 20, 20, -20, -20, -20, -20]);
    const out = batch.extract(0);
    expect(out.memory.memory.dims).toEqual([1, 2, 2]);
    expect(Array.from(out.states.h.data as Float32Array)).toEqual([20, 20, -20, -20]);
  });
});
