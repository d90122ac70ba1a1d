import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { Tensor } from 'onnxruntime-common';
import {
  bytesElement,
  floatToHalf,
  halfToFloat,
  hasNonFinite,
  invalidUtf8Offset,
  tensorFromJson,
  tensorFromRaw,
  tensorJsonText,
  tensorToJson,
  tensorToRaw,
} from './tensor-codec.ts';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeqserveError);
    return (err as SeqserveError).field;
  }
  throw new Error('expected an error');
}

describe('tensor codec', () => {
  it('round-trips every datatype through JSON and raw bytes', () => {
    const cases: [Parameters<typeof tensorFromJson>[1], unknown[]][] = [
      ['BOOL', [true, false, true, true]],
      ['UINT8', [0, 1, 254, 255]],
      ['INT8', [-128, -1, 0, 127]],
      ['UINT16', [0, 1, 65534, 65535]],
      ['INT16', [-32768, 0, 1, 32767]],
      ['UINT32', [0, 1, 2, 4294967295]],
      ['INT32', [-2147483648, -1, 0, 2147483647]],
      ['INT64', [-(2 ** 53) + 1, -1, 0, 2 ** 53 - 1]],
      ['UINT64', [0, 1, 2, 2 ** 53 - 1]],
      ['FP16', [0, 1.5, -2, 65504]],
      ['FP32', [0.5, -1.25, 2 ** 40, 0]],
      ['FP64', [Math.PI, -Math.E, 1e-300, 0]],
      ['BYTES', ['', 'a', 'Zürich', 'x y']],
    ];
    for (const [dt, data] of cases) {
      const t = tensorFromJson('inputs[0].data', dt, [2, 2], data);
      expect(tensorToJson(t), dt).toEqual(data);
      const back = tensorFromRaw('inputs[0]', dt, [2, 2], tensorToRaw(t).slice());
      expect(tensorToJson(back), dt).toEqual(data);
    }
  });

  it('accepts nested row-major arrays that match the shape', () => {
    expect(
      tensorToJson(
        tensorFromJson(
          'd',
          'INT32',
          [2, 3],
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ),
      ),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(
      fieldOf(() =>
        tensorFromJson(
          'd',
          'INT32',
          [3, 2],
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ),
      ),
    ).toBe('d');
  });

  it('rejects wrong element counts, types and ranges, naming the field', () => {
    expect(fieldOf(() => tensorFromJson('inputs[1].data', 'FP32', [2], [1]))).toBe('inputs[1].data');
    expect(fieldOf(() => tensorFromJson('inputs[1].data', 'FP32', [2], [1, 'x']))).toBe('inputs[1].data[1]');
    expect(fieldOf(() => tensorFromJson('d', 'INT8', [1], [128]))).toBe('d[0]');
    expect(fieldOf(() => tensorFromJson('d', 'INT64', [1], [1.5]))).toBe('d[0]');
    expect(fieldOf(() => tensorFromJson('d', 'BOOL', [1], [1]))).toBe('d[0]');
    expect(fieldOf(() => tensorFromJson('d', 'FP32', [1], 'abc'))).toBe('d');
  });

  it('rejects raw payloads whose size does not match the shape', () => {
    expect(fieldOf(() => tensorFromRaw('inputs[0]', 'FP32', [2, 2], new Uint8Array(15)))).toBe('inputs[0]');
    const truncatedBytes = new Uint8Array([5, 0, 0, 0, 104, 105]);
    expect(fieldOf(() => tensorFromRaw('inputs[0]', 'BYTES', [1], truncatedBytes))).toBe('inputs[0]');
  });

  it('writes JSON text equal to JSON.stringify, with null for non-finite values', () => {
    const f = new Tensor('float32', new Float32Array([0.1, -2.5, 1e-7, 3]), [4]);
    expect(JSON.parse(tensorJsonText(f))).toEqual(tensorToJson(f));
    expect(tensorJsonText(new Tensor('float32', new Float32Array([1, NaN, Infinity]), [3]))).toBe('[1,null,null]');
    expect(tensorJsonText(new Tensor('int64', new BigInt64Array([5n, -1n]), [2]))).toBe('[5,-1]');
  });

  it('knows which float tensors JSON cannot write exactly', () => {
    expect(hasNonFinite(new Tensor('float32', new Float32Array([1, 2]), [2]))).toBe(false);
    expect(hasNonFinite(new Tensor('float32', new Float32Array([1, NaN]), [2]))).toBe(true);
    expect(hasNonFinite(new Tensor('float64', new Float64Array([-Infinity]), [1]))).toBe(true);
    expect(hasNonFinite(new Tensor('float16', Uint16Array.from([1, 65504, 1e6, 0.5], floatToHalf), [4]))).toBe(true); // 1e6 overflows to Infinity
    expect(hasNonFinite(new Tensor('float16', Uint16Array.from([1, 65504], floatToHalf), [2]))).toBe(false);
    expect(hasNonFinite(new Tensor('int32', new Int32Array([1]), [1]))).toBe(false);
  });

  it('keeps BYTES elements byte for byte (a leading BOM too) and refuses what ONNX Runtime would alter, naming the element', () => {
    const elements = [[0xef, 0xbb, 0xbf, 0x61], [0xf0, 0x9f, 0x98, 0x80], [0x7f], []].map((e) => new Uint8Array(e));
    const raw = new Uint8Array(elements.flatMap((e) => [e.byteLength, 0, 0, 0, ...e]));
    const t = tensorFromRaw('inputs[0].data', 'BYTES', [4], raw);
    expect(t.data).toEqual(['\uFEFFa', '😀', '\u007f', '']);
    expect([...tensorToRaw(t)]).toEqual([...raw]);
    const withNul = new Uint8Array([1, 0, 0, 0, 0x61, 3, 0, 0, 0, 0x61, 0x00, 0x62]);
    expect(() => tensorFromRaw('inputs[0].data', 'BYTES', [2], withNul)).toThrow('inputs[0].data[1]: contains a NUL byte (byte 1), which ONNX Runtime string tensors cannot carry');
    expect(fieldOf(() => tensorFromRaw('inputs[0].data', 'BYTES', [2], withNul))).toBe('inputs[0].data[1]');
    expect(() => bytesElement('e', new Uint8Array([0x61, 0xc0, 0x80]))).toThrow(/^e: is not valid UTF-8 \(byte 1\)/); // overlong NUL
    expect(fieldOf(() => tensorFromJson('inputs[2].data', 'BYTES', [2], ['ok', 'a\u0000']))).toBe('inputs[2].data[1]');
    expect(fieldOf(() => tensorFromJson('inputs[2].data', 'BYTES', [1], ['\uDC00x']))).toBe('inputs[2].data[0]');
    expect(tensorFromJson('d', 'BYTES', [1], ['\uD83D\uDE00']).data).toEqual(['😀']); // a surrogate pair is text
  });

  it('finds the first byte that is not well-formed UTF-8', () => {
    const at = (...b: number[]) => invalidUtf8Offset(new Uint8Array(b));
    expect(at(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf4, 0x8f, 0xbf, 0xbf)).toBe(-1); // a, é, €, U+10FFFF
    expect(at(0x61, 0x80)).toBe(1); // a continuation byte alone
    expect(at(0xc1, 0xbf)).toBe(0); // overlong
    expect(at(0xe0, 0x9f, 0xbf)).toBe(0); // overlong
    expect(at(0xed, 0xbf, 0xbf)).toBe(0); // UTF-16 surrogate
    expect(at(0xf4, 0x90, 0x80, 0x80)).toBe(0); // above U+10FFFF
    expect(at(0x61, 0xe2, 0x82)).toBe(1); // cut short
    expect(at(0xe2, 0x28, 0xa1)).toBe(0); // bad continuation
  });

  it('converts half floats', () => {
    for (const v of [0, 1, -1, 0.5, 2.5, 1024, 65504, 6.103515625e-5]) expect(halfToFloat(floatToHalf(v))).toBe(v);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
    expect(halfToFloat(floatToHalf(0.1))).toBeCloseTo(0.1, 3);
  });
});
