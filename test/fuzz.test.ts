/**
 * Property-based fuzzing (fast-check, fixed seed, bounded runs) of every parser a client can reach:
 * JSON bodies of every endpoint, multipart forms, WAV, images, the KServe binary tensor extension,
 * protobuf messages over gRPC, and model manifests. Whatever arrives, the answer is a valid result
 * or a 4xx / gRPC client error naming the problem — never a 5xx, an INTERNAL, a crash or an
 * unhandled rejection (vitest fails the run on those).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import wavefile from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { SeqserveError } from '../server/core/errors.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { createApp } from '../server/http/app.ts';
import { decodeImage } from '../server/images/decode-image.ts';
import { slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261126); // fixed in CI; set FUZZ_SEED and FUZZ_RUNS to search further
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const settings = { seed: SEED, numRuns: RUNS, endOnFailure: true };

let server: Awaited<ReturnType<typeof startTestServer>>;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  // small generation limits keep each accepted request short; explicit model control so the load route parses its request
  server = await startTestServer({ limits: { ...DEFAULT_CONFIG.limits, maxAudioSeconds: 30 }, modelControl: 'explicit' });
  app = createApp(server.context); // the same app, called without a socket
});
afterAll(async () => {
  await server?.close();
});

/** A valid value, or each field kept, dropped or replaced by arbitrary JSON; sometimes extra fields. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.fromEntries(Object.entries(valid).map(([k, v]) => [k, fc.oneof(fc.constant(v), fc.jsonValue({ maxDepth: 3 }))]));
  return fc.tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 })).map(([a, b]) => ({ ...b, ...a }));
}

/** The response must be a success or a client error with a JSON body that says what was wrong. */
async function expectHandled(res: Response, what: string): Promise<void> {
  const text = await res.text();
  if (res.status >= 500 || (res.status >= 400 && !/"error"/.test(text))) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack traces
}

const post = (p: string, body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }) => app.request(p, { method: 'POST', body, headers });

const slotInputs = slotTaggerInputs('fly from boston to denver on monday');
const VALID: Record<string, Record<string, unknown>> = {
  '/v1/chat/completions': { model: 'chat', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 8, temperature: 0.5, top_p: 0.9, top_k: 5, n: 2, stop: ['.'], seed: 3, logprobs: true, top_logprobs: 2, stream: false, include_attention: true, beam_width: 2 },
  '/v1/slots': { text: 'fly from boston to denver on monday', model: 'slots' },
  '/v1/captions': { image: 'data:image/png;base64,' + readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png')).toString('base64'), max_tokens: 6, include_attention: true, temperature: 0 },
  '/v2/models/slots/infer': { id: 'x', inputs: slotInputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, data: i.data })), outputs: [{ name: 'emissions' }] },
  '/v2/models/chat.decoder/infer': { inputs: [{ name: 'prev_token', datatype: 'INT64', shape: [1], data: [5] }] },
};

describe('fuzzing: JSON bodies of every endpoint', () => {
  for (const [route, valid] of Object.entries(VALID)) {
    it(`${route}: mutated bodies`, async () => {
      await fc.assert(
        fc.asyncProperty(mutated(valid), async (body) => expectHandled(await post(route, JSON.stringify(body)), `${route} ${JSON.stringify(body).slice(0, 200)}`)),
        settings,
      );
    }, 120_000);
  }

  it('every POST route: arbitrary JSON and arbitrary bytes', async () => {
    const routes = [...Object.keys(VALID), '/v1/audio/transcriptions', '/v1/speech-qa', '/v2/repository/models/nope/load', '/v2/models/slots/versions/1/infer'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'), fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1'))), fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream'), async (route, body, type) =>
        expectHandled(await post(route, body, { 'content-type': type }), `${route} ${type} ${body.slice(0, 100)}`),
      ),
      { ...settings, numRuns: RUNS * 3 },
    );
  }, 120_000);
});

/** A short valid WAV (speech-like noise). */
function sampleWav(): Uint8Array {
  const w = new wavefile.WaveFile();
  w.fromScratch(1, 16000, '16', Int16Array.from({ length: 8000 }, (_, i) => Math.round(3000 * Math.sin(i / 5))));
  return w.toBuffer();
}

/** Bytes of a valid file with some bytes overwritten, cut short, or grown. */
function corrupted(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.array(fc.tuple(fc.nat({ max: Math.min(valid.length - 1, 400) }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((edits) => {
      const b = valid.slice();
      for (const [at, v] of edits) b[at] = v;
      return b;
    }),
    fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
    fc.uint8Array({ maxLength: 64 }).map((tail) => new Uint8Array([...valid.subarray(0, 44), ...tail])),
    fc.uint8Array({ maxLength: 200 }),
  );
}

describe('fuzzing: files', () => {
  it('WAV: decoded or refused with invalid_argument', () => {
    fc.assert(
      fc.property(corrupted(sampleWav()), (bytes) => {
        try {
          const audio = decodeWav(bytes);
          expect(audio.samples.length).toBeGreaterThan(0);
          expect(audio.sampleRate).toBeGreaterThanOrEqual(8000);
        } catch (err) {
          expect(err).toBeInstanceOf(SeqserveError);
          expect((err as SeqserveError).code).toBe('invalid_argument');
        }
      }),
      { ...settings, numRuns: RUNS * 10 },
    );
  });

  it('images: decoded or refused with a client error', async () => {
    const png = new Uint8Array(readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png')));
    const spec = server.context.repository.model('caption').generator!.model.image!;
    await fc.assert(
      fc.asyncProperty(corrupted(png), async (bytes) => {
        try {
          const img = await decodeImage(bytes, spec, 4096 * 4096);
          expect(img.pixels.length).toBeGreaterThan(0);
        } catch (err) {
          expect(err).toBeInstanceOf(SeqserveError);
          expect(['invalid_argument', 'payload_too_large']).toContain((err as SeqserveError).code);
        }
      }),
      { ...settings, numRuns: RUNS * 3 },
    );
  }, 60_000);

  it('multipart forms of the audio and captioning endpoints', async () => {
    const wav = sampleWav();
    const png = new Uint8Array(readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png')));
    const part = fc.oneof(fc.string({ maxLength: 40 }), corrupted(wav).map((b) => new Blob([new Uint8Array(b)])), corrupted(png).map((b) => new Blob([new Uint8Array(b)])));
    const names = fc.constantFrom('file', 'story', 'question', 'choices[]', 'choices', 'image', 'model', 'stream', 'response_format', 'decoder', 'hotwords', 'include_attention', 'max_tokens', 'x');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/audio/transcriptions', '/v1/speech-qa', '/v1/captions'), fc.array(fc.tuple(names, part), { maxLength: 6 }), async (route, parts) => {
        const form = new FormData();
        for (const [name, value] of parts) form.append(name, value);
        await expectHandled(await app.request(route, { method: 'POST', body: form }), `${route} ${parts.map((p) => p[0]).join(',')}`);
      }),
      settings,
    );
  }, 120_000);

  it('KServe binary tensor extension: any header length and payload', async () => {
    const json = JSON.stringify({ inputs: slotInputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: i.data.length * 8 } })) });
    const blobs = Buffer.concat(slotInputs.map((i) => Buffer.from(BigInt64Array.from(i.data, BigInt).buffer)));
    const valid = new Uint8Array(Buffer.concat([Buffer.from(json), blobs]));
    await fc.assert(
      fc.asyncProperty(corrupted(valid), fc.oneof(fc.constant(String(Buffer.byteLength(json))), fc.integer({ min: -5, max: valid.length + 10 }).map(String), fc.string({ maxLength: 6 })), async (body, headerLength) =>
        expectHandled(await post('/v2/models/slots/infer', new Uint8Array(body), { 'content-type': 'application/octet-stream', 'inference-header-content-length': headerLength }), `binary header ${headerLength}`),
      ),
      { ...settings, numRuns: RUNS * 3 },
    );
  }, 60_000);

  it('manifests: parsed or refused with a SeqserveError naming the field', () => {
    const valid = JSON.parse(readFileSync(path.join(BUNDLED_MODELS_DIR, 'chat', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.oneof(mutated(valid), fc.jsonValue({ maxDepth: 4 })), (json) => {
        try {
          parseManifest(json);
        } catch (err) {
          expect(err).toBeInstanceOf(SeqserveError);
          expect((err as Error).message).toMatch(/\S: \S/); // "field: problem"
        }
      }),
      { ...settings, numRuns: RUNS * 10 },
    );
  });
});

describe('fuzzing: protobuf messages over gRPC', () => {
  const CLIENT_ERRORS = [status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.OUT_OF_RANGE, status.RESOURCE_EXHAUSTED, status.FAILED_PRECONDITION, status.UNIMPLEMENTED];
  const raw = (b: Buffer) => b;

  it('unary and server-streaming methods: random and corrupted bytes', async () => {
    const client = new Client(server.grpc, credentials.createInsecure());
    const methods = ['/inference.GRPCInferenceService/ModelInfer', '/inference.GRPCInferenceService/ModelMetadata', '/inference.GRPCInferenceService/ModelReady', '/google.cloud.speech.v1.Speech/Recognize', '/grpc.health.v1.Health/Check'];
    const streaming = ['/seqserve.v1.Generation/Generate', '/seqserve.v1.Generation/Caption', '/seqserve.v1.SpeechQa/Ask'];
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...methods, ...streaming), fc.uint8Array({ maxLength: 200 }), async (method, bytes) => {
          const code = await new Promise<number>((resolve) => {
            if (streaming.includes(method)) {
              const call = client.makeServerStreamRequest(method, raw, raw, Buffer.from(bytes), new Metadata(), {});
              call.on('data', () => undefined);
              call.on('error', (e: ServiceError) => resolve(e.code));
              call.on('end', () => resolve(status.OK));
            } else {
              client.makeUnaryRequest(method, raw, raw, Buffer.from(bytes), (err: ServiceError | null) => resolve(err ? err.code : status.OK));
            }
          });
          if (!CLIENT_ERRORS.includes(code)) throw new Error(`${method}: status ${status[code]} for ${Buffer.from(bytes).toString('hex')}`);
        }),
        { ...settings, numRuns: RUNS * 3 },
      );
    } finally {
      client.close();
    }
  }, 120_000);

  it('bidirectional speech streams: random message sequences', async () => {
    const client = new Client(server.grpc, credentials.createInsecure());
    const config = Buffer.from('0a0608011080fa01', 'hex'); // streaming_config { config { encoding: LINEAR16, sample_rate_hertz: 16000 } }
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(fc.constant(config), fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b))), { maxLength: 5 }), async (messages) => {
          const code = await new Promise<number>((resolve) => {
            const call = client.makeBidiStreamRequest('/google.cloud.speech.v1.Speech/StreamingRecognize', raw, raw, new Metadata(), {});
            call.on('data', () => undefined);
            call.on('error', (e: ServiceError) => resolve(e.code));
            call.on('end', () => resolve(status.OK));
            for (const m of messages) call.write(m);
            call.end();
          });
          if (!CLIENT_ERRORS.includes(code)) throw new Error(`StreamingRecognize: status ${status[code]} for ${messages.map((m) => m.toString('hex')).join(' | ')}`);
        }),
        settings,
      );
    } finally {
      client.close();
    }
  }, 120_000);
});
