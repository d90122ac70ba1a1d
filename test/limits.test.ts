/**
 * Load shedding and deadlines: per-model stream and request limits refuse the next one at once
 * (HTTP 429 with Retry-After, gRPC RESOURCE_EXHAUSTED); an HTTP request over --request-timeout gets
 * 504 and its work stops; a gRPC deadline ends a recognition stream and frees its place. (Full run
 * queues and engine wait lists shed the same way; their unit tests show it: onnxruntime-node runs
 * block the event loop, so a run queue cannot be filled deterministically from outside.)
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import wavefile from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProto } from '../server/grpc/load-proto.ts';
import { SeededRandom } from '../server/core/random.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { startTestServer } from './helpers/test-server.ts';

const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
let server: Awaited<ReturnType<typeof startTestServer>>;

/** Noise at a speech-like level, as 16 kHz LINEAR16. */
function noise(seconds: number): Buffer {
  const r = new SeededRandom(9);
  const pcm = Int16Array.from({ length: seconds * 16000 }, () => Math.round(3000 * r.gaussian()));
  return Buffer.from(pcm.buffer);
}
const wav = (pcm: Buffer) => {
  const w = new wavefile.WaveFile();
  w.fromScratch(1, 16000, '16', new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2));
  return new Blob([new Uint8Array(w.toBuffer())], { type: 'audio/wav' });
};

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  server = await startTestServer({
    limits: { ...(await import('../server/config.ts')).DEFAULT_CONFIG.limits, maxStreamsPerModel: 1, maxRequestsPerModel: 1, requestTimeoutSeconds: 0.4 },
    queue: { maxConcurrent: 1, maxQueued: 2 },
  });
});
afterAll(async () => {
  await server?.close();
});

function openStream(deadlineMs?: number) {
  const client = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
  const call = client.StreamingRecognize(new Metadata(), deadlineMs ? { deadline: Date.now() + deadlineMs } : {});
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    call.on('data', () => undefined);
    call.on('error', (e: ServiceError) => (client.close(), resolve(e)));
    call.on('end', () => (client.close(), resolve(undefined)));
  });
  call.write({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000 } } });
  return { call, ended };
}

describe('limits', () => {
  it('refuses a stream over the per-model stream limit: gRPC RESOURCE_EXHAUSTED, HTTP 429 with Retry-After', async () => {
    const admission = server.context.admission;
    const first = openStream();
    await until(() => admission.count('asr', 'stream') === 1);
    const second = openStream();
    const refused = await second.ended;
    expect(refused?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused?.details).toMatch(/limit/);
    const form = new FormData();
    form.set('file', wav(noise(2)), 'a.wav');
    form.set('stream', 'true');
    const res = await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    first.call.end();
    expect(await first.ended).toBeUndefined();
    expect(admission.count('asr', 'stream')).toBe(0);
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    expect(metrics).toMatch(/seqserve_rejected_total\{model="asr",reason="too_many_streams"\} 2/);
  });

  it('refuses a request over the per-model request limit', async () => {
    const admission = server.context.admission;
    const client = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
    const long = new Promise<ServiceError | null>((resolve) =>
      client.Recognize({ config: { encoding: 'LINEAR16', sample_rate_hertz: 16000 }, audio: { content: noise(200) } }, (err: ServiceError | null) => resolve(err)),
    );
    await until(() => admission.count('asr', 'request') === 1);
    const form = new FormData();
    form.set('file', wav(noise(1)), 'a.wav');
    const res = await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await long).toBeNull();
    client.close();
    expect(admission.count('asr', 'request')).toBe(0);
  }, 60_000);

  it('answers 504 when an HTTP request outlives --request-timeout, and stops its work', async () => {
    const form = new FormData();
    form.set('file', wav(noise(200)), 'a.wav');
    const t0 = Date.now();
    const res = await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/longer than the server's limit of 0.4 s/);
    // the 504 itself shows the deadline fired; the bound only catches a deadline that waits for the
    // work (synchronous ONNX Runtime runs can delay the timer by a few hundred ms on a loaded machine)
    expect(Date.now() - t0).toBeLessThan(10_000);
    await until(() => server.context.admission.count('asr', 'request') === 0, 2000); // the transcription stopped
  }, 30_000);

  it('ends a recognition stream at its gRPC deadline and frees its place', async () => {
    const s = openStream(300);
    const timer = setInterval(() => s.call.write({ audio_content: noise(0.1) }), 50);
    const err = await s.ended;
    clearInterval(timer);
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
    await until(() => server.context.admission.count('asr', 'stream') === 0, 2000);
  });

  it('stops a KServe gRPC ModelInfer past --request-timeout or its client deadline, and frees its place', async () => {
    const audio = Buffer.from(await wav(noise(200)).arrayBuffer()).toString('base64');
    const request = { model_name: 'asr', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from(audio)] } }] };
    const client = kserveGrpcClient(server.grpc);
    try {
      const err = (await client.modelInfer(request).then(
        () => undefined,
        (e: ServiceError) => e,
      )) as ServiceError | undefined;
      expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(err?.details).toMatch(/longer than the server's limit of 0.4 s/);
      await until(() => server.context.admission.count('asr', 'request') === 0, 2000);
      // the client's own deadline, shorter than the server's limit
      const early = await new Promise<ServiceError | null>((resolve) =>
        client.inference.ModelInfer(request, new Metadata(), { deadline: Date.now() + 150 }, (e: ServiceError | null) => resolve(e)),
      );
      expect(early?.code).toBe(status.DEADLINE_EXCEEDED);
      await until(() => server.context.admission.count('asr', 'request') === 0, 2000);
    } finally {
      client.close();
    }
  }, 30_000);
});
