import { describe, expect, it } from 'vitest';
import { Tensor } from 'onnxruntime-common';
import { SeqserveError } from '../core/errors.ts';
import { binaryBody } from '../core/kserve-binary.ts';
import { decodeRestInfer, encodeRestInfer, NON_FINITE_NOTE } from './rest-codec.ts';

const enc = new TextEncoder();

function binaryBodyOf(header: object, ...blobs: Uint8Array[]): { body: Uint8Array; headerLength: string } {
  const { body, headerLength } = binaryBody(header, blobs);
  return { body, headerLength: String(headerLength) };
}

function errorOf(fn: () => unknown): SeqserveError {
  try {
    fn();
  } catch (err) {
    return err as SeqserveError;
  }
  throw new Error('expected an error');
}

describe('KServe REST codec', () => {
  it('decodes JSON tensors', () => {
    const req = decodeRestInfer(enc.encode(JSON.stringify({ id: 'r1', inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] })), undefined);
    expect(req).toEqual({ id: 'r1', inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] });
  });

  it('decodes binary tensors in input order', () => {
    const a = new Uint8Array(new Float32Array([1, 2]).buffer);
    const b = new Uint8Array(new Int32Array([7]).buffer);
    const { body, headerLength } = binaryBodyOf(
      {
        inputs: [
          { name: 'a', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
          { name: 'j', shape: [1], datatype: 'INT32', data: [3] },
          { name: 'b', shape: [1], datatype: 'INT32', parameters: { binary_data_size: 4 } },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      },
      a,
      b,
    );
    const req = decodeRestInfer(body, headerLength);
    expect([...(req.inputs[0].raw ?? [])]).toEqual([...a]);
    expect(req.inputs[1].data).toEqual([3]);
    expect([...(req.inputs[2].raw ?? [])]).toEqual([...b]);
    expect(req.outputs).toEqual([{ name: 'y', binary: true }]);
  });

  it('rejects a binary payload shorter than declared, naming the input', () => {
    const { body, headerLength } = binaryBodyOf({ inputs: [{ name: 'a', shape: [4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, new Uint8Array(10));
    const e = errorOf(() => decodeRestInfer(body, headerLength));
    expect(e.code).toBe('invalid_argument');
    expect(e.field).toBe('inputs[0].parameters.binary_data_size');
  });

  it('rejects malformed JSON, missing fields and a bad header length', () => {
    expect(errorOf(() => decodeRestInfer(enc.encode('{"inputs": ['), undefined)).field).toBe('body');
    expect(errorOf(() => decodeRestInfer(enc.encode('{"inputs": [{"name": "x", "datatype": "FP32"}]}'), undefined)).field).toBe('inputs[0].shape');
    expect(errorOf(() => decodeRestInfer(enc.encode('{}'), '99')).field).toBe('Inference-Header-Content-Length');
    for (const odd of ['', '0x2', '2e0', '-0', '2.0', ' '])
      expect(
        errorOf(() => decodeRestInfer(enc.encode('{}'), odd)),
        `"${odd}"`,
      ).toMatchObject({ field: 'Inference-Header-Content-Length' });
    expect(errorOf(() => decodeRestInfer(enc.encode('{"inputs": []}xx'), '14')).field).toBe('inputs'); // the header read: its JSON is checked
  });

  it('refuses a JSON body or header that is not UTF-8 instead of decoding it into U+FFFD', () => {
    const latin1 = new Uint8Array([...enc.encode('{"inputs": [{"name": "s", "shape": [1], "datatype": "BYTES", "data": ["caf'), 0xe9, ...enc.encode('"]}]}')]);
    expect(errorOf(() => decodeRestInfer(latin1, undefined))).toMatchObject({ code: 'invalid_argument', field: 'body' });
    expect(errorOf(() => decodeRestInfer(latin1, String(latin1.byteLength)))).toMatchObject({ code: 'invalid_argument', field: 'header' });
  });

  it('notes on a JSON output that its NaN and Infinity values are null, and only there', async () => {
    const out = await encodeRestInfer({
      modelName: 'm',
      modelVersion: '1',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [3], tensor: new Tensor('float32', new Float32Array([1, NaN, -Infinity]), [3]), binary: false },
        { name: 'z', datatype: 'FP32', shape: [1], tensor: new Tensor('float32', new Float32Array([1]), [1]), binary: false },
      ],
    });
    const json = JSON.parse(out.body as string);
    expect(json.outputs[0]).toEqual({ name: 'y', datatype: 'FP32', shape: [3], parameters: { non_finite: NON_FINITE_NOTE }, data: [1, null, null] });
    expect(json.outputs[1]).toEqual({ name: 'z', datatype: 'FP32', shape: [1], data: [1] });
  });

  it('encodes binary outputs after the JSON header', async () => {
    const tensor = new Tensor('float32', new Float32Array([1.5, 2.5]), [1, 2]);
    const out = await encodeRestInfer({ modelName: 'm', modelVersion: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], tensor, binary: true }] });
    const body = out.body as Uint8Array;
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, out.headerLength)));
    expect(header.outputs[0].parameters.binary_data_size).toBe(8);
    expect([...new Float32Array(body.slice(out.headerLength).buffer)]).toEqual([1.5, 2.5]);
  });

  it('writes a large output as JSON a slice at a time, letting other work run between slices, with the same text', async () => {
    const n = 200_000;
    const f32 = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
    const i64 = BigInt64Array.from({ length: n }, (_, i) => BigInt(i - 7) * 3_000_000_000n);
    const result = {
      modelName: 'm',
      modelVersion: '1',
      outputs: [
        { name: 'f', datatype: 'FP32', shape: [n], tensor: new Tensor('float32', f32, [n]), binary: false },
        { name: 'i', datatype: 'INT64', shape: [n], tensor: new Tensor('int64', i64, [n]), binary: false },
      ],
    };
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    const out = await encodeRestInfer(result);
    clearInterval(ticking);
    expect(turns).toBeGreaterThan(0); // the loop ran during the encoding
    const json = JSON.parse(out.body as string);
    expect(json.outputs[0].data).toEqual([...f32]);
    expect(json.outputs[1].data).toEqual([...i64].map(Number));
    expect(out.body).toBe(
      `{"model_name":"m","model_version":"1","outputs":[{"name":"f","datatype":"FP32","shape":[${n}],"data":[${[...f32].join(',')}]},{"name":"i","datatype":"INT64","shape":[${n}],"data":[${[...i64].join(',')}]}]}`,
    );
  });
});
