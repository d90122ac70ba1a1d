/**
 * The edges of the KServe encodings (issue 16 §3), with fixture graphs made at test time
 * (test/fixtures/make_kserve_edge_models.py):
 * - BYTES are bytes: every element ONNX Runtime can carry (valid UTF-8 without NUL bytes, a leading
 *   BOM included) comes back byte for byte over the REST binary extension and gRPC (raw contents and
 *   typed bytes_contents); an element it cannot carry (a NUL byte, invalid UTF-8) is refused with
 *   400 / INVALID_ARGUMENT naming it, never silently cut or replaced.
 * - NaN and ±Infinity come back exactly in binary outputs (REST and gRPC); in JSON they are null and
 *   the output's parameters say so.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryBody, concatBytes } from '../server/core/kserve-binary.ts';
import { NON_FINITE_NOTE } from '../server/kserve/rest-codec.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { startTestServer } from './helpers/test-server.ts';

let root: string;
let server: Awaited<ReturnType<typeof startTestServer>>;
let grpc: ReturnType<typeof kserveGrpcClient>;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-edges-'));
  execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'fixtures', 'make_kserve_edge_models.py'), root]);
  server = await startTestServer({ modelsDir: root });
  grpc = kserveGrpcClient(server.grpc);
}, 60_000);
afterAll(async () => {
  grpc?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const utf8 = (s: string) => new TextEncoder().encode(s);
/** BYTES elements ONNX Runtime carries exactly: ASCII, multi-byte UTF-8, a leading BOM, U+FFFD itself, an empty element. */
const CARRIED = [utf8('plain'), utf8('café – 東京 😀'), new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), utf8('x\uFFFDy'), new Uint8Array(0), utf8('\t\n\u007f')];

/** The binary extension's BYTES encoding: 4-byte little-endian length + bytes per element. */
function bytesTensor(elements: readonly Uint8Array[]): Uint8Array {
  return concatBytes(elements.flatMap((e) => [new Uint8Array(new Uint32Array([e.byteLength]).buffer), e]));
}

/** A REST infer with every input and output in binary; returns the status and the header and output blobs. */
async function restBinary(model: string, inputs: { name: string; datatype: string; shape: number[]; raw: Uint8Array }[]) {
  const { body, headerLength } = binaryBody(
    {
      inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: i.raw.byteLength } })),
      parameters: { binary_data_output: true },
    },
    inputs.map((i) => i.raw),
  );
  const res = await fetch(`${server.http}/v2/models/${model}/infer`, {
    method: 'POST',
    body,
    headers: { 'Inference-Header-Content-Length': String(headerLength), 'content-type': 'application/octet-stream' },
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, error: (JSON.parse(new TextDecoder().decode(bytes)) as { error: string }).error, outputs: {} as Record<string, Uint8Array> };
  const n = Number(res.headers.get('inference-header-content-length'));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, n))) as { outputs: { name: string; parameters: { binary_data_size: number } }[] };
  const outputs: Record<string, Uint8Array> = {};
  let off = n;
  for (const o of header.outputs) {
    outputs[o.name] = bytes.slice(off, off + o.parameters.binary_data_size);
    off += o.parameters.binary_data_size;
  }
  return { status: res.status, error: undefined, outputs };
}

const grpcError = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: ServiceError) => e,
  );

describe('BYTES are bytes', () => {
  it('round-trips every element ONNX Runtime can carry exactly over the REST binary extension', async () => {
    const raw = bytesTensor(CARRIED);
    const res = await restBinary('bytes-echo', [{ name: 'text', datatype: 'BYTES', shape: [CARRIED.length], raw }]);
    expect(res.status).toBe(200);
    expect(Buffer.from(res.outputs.echo).equals(Buffer.from(raw))).toBe(true);
  });

  it('round-trips them exactly over gRPC, raw_input_contents and typed bytes_contents', async () => {
    const raw = bytesTensor(CARRIED);
    const input = { name: 'text', datatype: 'BYTES', shape: [CARRIED.length] };
    const viaRaw = await grpc.modelInfer({ model_name: 'bytes-echo', inputs: [input], raw_input_contents: [raw] });
    expect(Buffer.from(viaRaw.raw_output_contents[0]).equals(Buffer.from(raw))).toBe(true);
    const viaContents = await grpc.modelInfer({ model_name: 'bytes-echo', inputs: [{ ...input, contents: { bytes_contents: CARRIED.map((e) => Buffer.from(e)) } }] });
    expect(Buffer.from(viaContents.raw_output_contents[0]).equals(Buffer.from(raw))).toBe(true);
  });

  it('refuses an element with a NUL byte or invalid UTF-8, naming it, instead of cutting or replacing it', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([0x61, 0x00, 0x62]), /contains a NUL byte \(byte 1\), which ONNX Runtime string tensors cannot carry/],
      [new Uint8Array([0x61, 0x62, 0xff]), /is not valid UTF-8 \(byte 2\)/],
      [new Uint8Array([0xc3]), /is not valid UTF-8 \(byte 0\)/], // cut short
      [new Uint8Array([0xed, 0xa0, 0x80]), /is not valid UTF-8 \(byte 0\)/], // an encoded UTF-16 surrogate
    ];
    for (const [bad, message] of cases) {
      const elements = [utf8('fine'), utf8('also fine'), utf8('third'), bad];
      const rest = await restBinary('bytes-echo', [{ name: 'text', datatype: 'BYTES', shape: [4], raw: bytesTensor(elements) }]);
      expect(rest.status).toBe(400);
      expect(rest.error).toMatch(/^inputs\[0\]\.data\[3\]: /);
      expect(rest.error).toMatch(message);

      const input = { name: 'text', datatype: 'BYTES', shape: [4] };
      const viaRaw = await grpcError(grpc.modelInfer({ model_name: 'bytes-echo', inputs: [input], raw_input_contents: [bytesTensor(elements)] }));
      expect(viaRaw?.code).toBe(status.INVALID_ARGUMENT);
      expect(viaRaw?.details).toMatch(/^inputs\[0\]\.data\[3\]: /);
      expect(viaRaw?.details).toMatch(message);
      const viaContents = await grpcError(grpc.modelInfer({ model_name: 'bytes-echo', inputs: [{ ...input, contents: { bytes_contents: elements.map((e) => Buffer.from(e)) } }] }));
      expect(viaContents?.code).toBe(status.INVALID_ARGUMENT);
      expect(viaContents?.details).toMatch(/^inputs\[0\]\.contents\.bytes_contents\[3\]: /);
      expect(viaContents?.details).toMatch(message);
    }
    // still serving
    expect((await restBinary('bytes-echo', [{ name: 'text', datatype: 'BYTES', shape: [1], raw: bytesTensor([utf8('ok')]) }])).status).toBe(200);
  });

  it('JSON data: strings round-trip; a NUL character or a lone surrogate is refused naming the element', async () => {
    const text = ['plain', 'café – 東京 😀', '\uFEFFa', ''];
    const ok = await fetch(`${server.http}/v2/models/bytes-echo/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [4], data: text }] }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { outputs: { data: string[] }[] }).outputs[0].data).toEqual(text);
    for (const [element, message] of [
      ['a\u0000b', /^inputs\[0\]\.data\[1\]: contains a NUL character \(character 1\), which ONNX Runtime string tensors cannot carry/],
      ['x\uD800', /^inputs\[0\]\.data\[1\]: contains a lone UTF-16 surrogate \(\\ud800 at character 1\)/],
    ] as const) {
      const res = await fetch(`${server.http}/v2/models/bytes-echo/infer`, {
        method: 'POST',
        body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['fine', element] }] }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    // a JSON body that is not UTF-8 is refused, not decoded into U+FFFD
    const latin1 = concatBytes([
      utf8('{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["caf'),
      new Uint8Array([0xe9]),
      utf8('"]}]}'),
    ]) as Uint8Array<ArrayBuffer>;
    const res = await fetch(`${server.http}/v2/models/bytes-echo/infer`, { method: 'POST', body: latin1 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/not valid UTF-8/);
  });
});

describe('NaN and Infinity', () => {
  const x = new Float32Array([0, -1, 1, 2]); // log: -Inf, NaN, 0, ln 2; ratio (x / 0): NaN, -Inf, +Inf, +Inf

  /** What ONNX Runtime itself returns for the fixture, bit for bit. */
  async function expected(): Promise<Record<string, Uint8Array>> {
    const session = await ort.InferenceSession.create(path.join(root, 'non-finite', 'model.onnx'));
    const out = await session.run({ x: new ort.Tensor('float32', x, [4]) });
    await session.release();
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, new Uint8Array((t.data as Float32Array).buffer.slice(0))]));
  }

  it('come back exactly in binary outputs, over REST and gRPC', async () => {
    const want = await expected();
    expect(Array.from(new Float32Array(want.ratio.buffer))).toEqual([NaN, -Infinity, Infinity, Infinity]);
    const raw = new Uint8Array(x.buffer);
    const rest = await restBinary('non-finite', [{ name: 'x', datatype: 'FP32', shape: [4], raw }]);
    expect(rest.status).toBe(200);
    for (const name of ['log', 'ratio', 'log16', 'double']) expect(Buffer.from(rest.outputs[name]).equals(Buffer.from(want[name]))).toBe(true);

    const res = await grpc.modelInfer({ model_name: 'non-finite', inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }], raw_input_contents: [raw] });
    const byName = Object.fromEntries((res.outputs as { name: string }[]).map((o, i) => [o.name, res.raw_output_contents[i] as Uint8Array]));
    for (const name of ['log', 'ratio', 'log16', 'double']) expect(Buffer.from(byName[name]).equals(Buffer.from(want[name]))).toBe(true);
  });

  it('are null in JSON data, and the output parameters say so', async () => {
    const res = await fetch(`${server.http}/v2/models/non-finite/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [4], data: Array.from(x) }] }),
    });
    expect(res.status).toBe(200);
    const outputs = Object.fromEntries(
      ((await res.json()) as { outputs: { name: string; data: unknown[]; parameters?: Record<string, unknown> }[] }).outputs.map((o) => [o.name, o]),
    );
    expect(outputs.log.data).toEqual([null, null, 0, expect.closeTo(Math.LN2, 6)]);
    expect(outputs.ratio.data).toEqual([null, null, null, null]);
    expect(outputs.log16.data.slice(0, 3)).toEqual([null, null, 0]);
    for (const name of ['log', 'ratio', 'log16']) expect(outputs[name].parameters).toEqual({ non_finite: NON_FINITE_NOTE });
    expect(outputs.double).toEqual({ name: 'double', datatype: 'FP32', shape: [4], data: [0, -2, 2, 4] }); // finite: no note
  });
});
