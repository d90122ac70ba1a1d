/**
 * ModelStreamInfer backpressure by bytes: a client that sends requests and never reads the replies
 * holds at most a few responses' worth of the server's memory (2 × --max-body-bytes of unread
 * responses, or 32 requests in flight, whichever comes first: requests that arrive together are
 * all read, up to 32); the stream reads no more requests until it reads. The client here is raw HTTP/2 that gives the server no flow-control window at all, so no
 * response byte can leave the server (grpc-js's own client reads the socket even when paused).
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../server/config.ts';
import { loadProtoDefinition } from '../server/grpc/load-proto.ts';
import { startBundledServer } from './helpers/test-server.ts';

const MAX_BODY = 2 * 1024 * 1024;
let server: Awaited<ReturnType<typeof startBundledServer>>;

beforeAll(async () => {
  server = await startBundledServer(['ppocr_rec'], { limits: { ...DEFAULT_CONFIG.limits, maxBodyBytes: MAX_BODY } });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

/** Infer requests of the OCR recognizer the server has finished for this stream. */
async function answered(): Promise<number> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('seqserve_requests_total{') && l.includes('model="ppocr_rec.recognizer"') && l.includes('outcome="ok"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('ModelStreamInfer with a client that does not read', () => {
  it("stops reading requests once two messages' worth of replies wait unread", async () => {
    const def = loadProtoDefinition('kserve/grpc_service.proto')['inference.GRPCInferenceService'] as Record<string, { requestSerialize: (m: object) => Buffer }>;
    const width = 320; // 3 × 48 × 320 FP32 in (184 KB), 40 × 6625 FP32 out (1.06 MB) per request
    const message = def.ModelStreamInfer.requestSerialize({
      model_name: 'ppocr_rec.recognizer',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width] }],
      raw_input_contents: [Buffer.alloc(3 * 48 * width * 4)],
    });
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
    frame.writeUInt32BE(message.byteLength, 1);

    const session = http2.connect(`http://${server.grpc}`, { settings: { initialWindowSize: 0 } });
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelStreamInfer', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => undefined);
      // one request at a time, each once the last is answered: replies pile up unread (no window)
      let sent = 0;
      for (; sent < 10; sent++) {
        stream.write(frame);
        const deadline = Date.now() + 8000;
        while ((await answered()) < sent + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if ((await answered()) < sent + 1) break; // not read: the stream has stopped reading
      }
      // 2 MiB messages: 2 × 2 MiB of unread replies is 4 replies of 1.06 MB (the fourth crosses it)
      expect(await answered()).toBe(4);
      expect(sent).toBe(4);
      stream.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      session.destroy();
    }
  });
});
