/**
 * A KServe response is held to the same limit as a request body and a gRPC message
 * (`--max-body-bytes`): a graph whose outputs are much larger than its inputs (the OCR recognizer's
 * per-column logits: ~6× its input) is refused with 413 / RESOURCE_EXHAUSTED naming `outputs`, before
 * any output is encoded, instead of a JSON text of hundreds of MB built on the main thread (or, over
 * gRPC, grpc-js's own "message larger than max" after the work); JSON text is held to it as it is
 * written.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../server/config.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { startBundledServer } from './helpers/test-server.ts';

const LIMIT = 1024 * 1024;
let server: Awaited<ReturnType<typeof startBundledServer>>;

beforeAll(async () => {
  server = await startBundledServer(['ppocr_rec'], { limits: { ...DEFAULT_CONFIG.limits, maxBodyBytes: LIMIT } });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

/** A blank text line `width` pixels wide, as the recognizer's input, in binary (the request stays small). */
function line(width: number): { json: string; raw: Uint8Array } {
  const raw = new Uint8Array(3 * 48 * width * 4);
  const header = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], parameters: { binary_data_size: raw.byteLength } }] });
  return { json: header, raw };
}

async function restInfer(width: number, binaryOutputs = false): Promise<{ status: number; body: any }> {
  const { json, raw } = line(width);
  const header = binaryOutputs ? JSON.stringify({ ...JSON.parse(json), parameters: { binary_data_output: true } }) : json;
  const head = new TextEncoder().encode(header);
  const body = new Uint8Array(head.byteLength + raw.byteLength);
  body.set(head);
  body.set(raw, head.byteLength);
  const res = await fetch(`${server.http}/v2/models/ppocr_rec.recognizer/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.byteLength) },
    body,
  });
  const text = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.arrayBuffer();
  return { status: res.status, body: text };
}

describe('KServe response limit', () => {
  it('answers outputs under the limit, and refuses larger ones with 413 naming outputs: raw tensor bytes, and JSON text', async () => {
    // width 40: 5 columns × 6625 classes of logits, ~0.4 MB as JSON; width 160: 530 KB raw, over 1 MB
    // as JSON text; width 640: 2.1 MB raw
    const small = await restInfer(40);
    expect(small.status).toBe(200);
    expect(small.body.outputs[0].shape).toEqual([1, 5, 6625]);
    expect((await restInfer(160, true)).status).toBe(200);
    const text = await restInfer(160);
    expect(text.status).toBe(413);
    expect(text.body.error).toMatch(/^outputs: the JSON response would be over the response limit of 1048576 bytes .*binary_data_output/);
    for (const binary of [false, true]) {
      const big = await restInfer(640, binary);
      expect(big.status).toBe(413);
      expect(big.body.error).toMatch(/^outputs: the requested outputs hold 2120000 bytes \(530000 elements\), over the response limit of 1048576 bytes/);
    }
  });

  it('over gRPC: RESOURCE_EXHAUSTED with the same message, not the transport cutting the message', async () => {
    const client = kserveGrpcClient(server.grpc);
    try {
      const infer = (width: number) =>
        client.modelInfer({
          model_name: 'ppocr_rec.recognizer',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width] }],
          raw_input_contents: [Buffer.from(line(width).raw)],
        });
      expect((await infer(160)).outputs[0].shape.map(Number)).toEqual([1, 20, 6625]);
      const err = (await infer(640).catch((e: ServiceError) => e)) as ServiceError;
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/^outputs: the requested outputs hold 2120000 bytes/);
    } finally {
      client.close();
    }
  });
});
