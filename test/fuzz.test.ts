/**
 * Property-based fuzzing (fast-check, fixed seed, bounded runs) of every parser a client can reach:
 * JSON bodies of every endpoint, multipart forms, WAV, images, the KServe binary tensor extension,
 * protobuf messages over gRPC, model manifests, and KServe tensor shapes with zero and huge
 * dimensions on every transport. Whatever arrives, the answer is a valid result
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
import { kserveDatatype } from '../server/kserve/datatypes.ts';
import { decodeImage } from '../server/images/decode-image.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';
import { asTaskModel } from '../server/runtime/task-models.ts';

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
  return fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }))
    .map(([a, b]) => ({ ...b, ...a }));
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
  '/v1/chat/completions': {
    model: 'chat',
    messages: [{ role: 'user', content: 'hello there' }],
    max_tokens: 8,
    temperature: 0.5,
    top_p: 0.9,
    top_k: 5,
    n: 2,
    stop: ['.'],
    seed: 3,
    logprobs: true,
    top_logprobs: 2,
    stream: false,
    include_attention: true,
    beam_width: 2,
  },
  '/v1/completions': {
    model: 'g2p',
    prompt: ['taipei', 'read'],
    max_tokens: 8,
    temperature: 0.5,
    top_p: 0.9,
    top_k: 5,
    n: 2,
    best_of: 2,
    stop: ['P'],
    seed: 3,
    logprobs: 2,
    echo: false,
    stream: false,
    include_attention: true,
  },
  '/v1/slots': { text: 'fly from boston to denver on monday', model: 'slots' },
  '/predict': {
    inputs: [['Subject: FREE money'], ['see you at the meeting']],
    truncate: false,
    raw_scores: false,
    return_attention: true,
    return_contributions: true,
    model: 'spam',
  },
  '/v1/captions': {
    image: 'data:image/png;base64,' + readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png')).toString('base64'),
    max_tokens: 6,
    include_attention: true,
    temperature: 0,
  },
  '/v1/ocr/lines': {
    image: ['data:image/png;base64,' + readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png')).toString('base64')],
    decoding: 'beam',
    model: 'ppocr_rec',
  },
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
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
          fc.string({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream'),
        async (route, body, type) => expectHandled(await post(route, body, { 'content-type': type }), `${route} ${type} ${body.slice(0, 100)}`),
      ),
      { ...settings, numRuns: RUNS * 3 },
    );
  }, 120_000);
});

/** A short valid WAV (speech-like noise). */
function sampleWav(): Uint8Array {
  const w = new wavefile.WaveFile();
  w.fromScratch(
    1,
    16000,
    '16',
    Int16Array.from({ length: 8000 }, (_, i) => Math.round(3000 * Math.sin(i / 5))),
  );
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
    const spec = asTaskModel(server.context.repository.model('caption'), 'caption').taskModel.model.image!;
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
    const part = fc.oneof(
      fc.string({ maxLength: 40 }),
      corrupted(wav).map((b) => new Blob([new Uint8Array(b)])),
      corrupted(png).map((b) => new Blob([new Uint8Array(b)])),
    );
    const names = fc.constantFrom(
      'file',
      'story',
      'question',
      'choices[]',
      'choices',
      'image',
      'model',
      'stream',
      'response_format',
      'decoder',
      'hotwords',
      'include_attention',
      'max_tokens',
      'x',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/audio/transcriptions', '/v1/speech-qa', '/v1/captions', '/v1/ocr/lines'),
        fc.array(fc.tuple(names, part), { maxLength: 6 }),
        async (route, parts) => {
          const form = new FormData();
          for (const [name, value] of parts) form.append(name, value);
          await expectHandled(await app.request(route, { method: 'POST', body: form }), `${route} ${parts.map((p) => p[0]).join(',')}`);
        },
      ),
      settings,
    );
  }, 120_000);

  it('KServe binary tensor extension: any header length and payload', async () => {
    const json = JSON.stringify({ inputs: slotInputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: i.data.length * 8 } })) });
    const blobs = Buffer.concat(slotInputs.map((i) => Buffer.from(BigInt64Array.from(i.data, BigInt).buffer)));
    const valid = new Uint8Array(Buffer.concat([Buffer.from(json), blobs]));
    await fc.assert(
      fc.asyncProperty(
        corrupted(valid),
        fc.oneof(fc.constant(String(Buffer.byteLength(json))), fc.integer({ min: -5, max: valid.length + 10 }).map(String), fc.string({ maxLength: 6 })),
        async (body, headerLength) =>
          expectHandled(
            await post('/v2/models/slots/infer', new Uint8Array(body), { 'content-type': 'application/octet-stream', 'inference-header-content-length': headerLength }),
            `binary header ${headerLength}`,
          ),
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
    const methods = [
      '/inference.GRPCInferenceService/ModelInfer',
      '/inference.GRPCInferenceService/ModelMetadata',
      '/inference.GRPCInferenceService/ModelReady',
      '/google.cloud.speech.v1.Speech/Recognize',
      '/grpc.health.v1.Health/Check',
    ];
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
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.constant(config),
              fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
            ),
            { maxLength: 5 },
          ),
          async (messages) => {
            const code = await new Promise<number>((resolve) => {
              const call = client.makeBidiStreamRequest('/google.cloud.speech.v1.Speech/StreamingRecognize', raw, raw, new Metadata(), {});
              call.on('data', () => undefined);
              call.on('error', (e: ServiceError) => resolve(e.code));
              call.on('end', () => resolve(status.OK));
              for (const m of messages) call.write(m);
              call.end();
            });
            if (!CLIENT_ERRORS.includes(code)) throw new Error(`StreamingRecognize: status ${status[code]} for ${messages.map((m) => m.toString('hex')).join(' | ')}`);
          },
        ),
        settings,
      );
    } finally {
      client.close();
    }
  }, 120_000);
});

describe('fuzzing: KServe tensor shapes (zero, huge and overflowing dimensions)', () => {
  /**
   * Dimensions a client can send: valid small ones, 0 (onnxruntime-node aborts the process on a
   * zero-size tensor), lengths near the ASR graph's one-frame minimum (shorter ones made an empty
   * tensor inside the graph), and huge ones whose products overflow 32 bits, 2^53 and doubles. Per
   * axis also its upper bound and one past it (a long input exhausted memory), and lengths the
   * element limit allows but the bound does not.
   */
  const DIM = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(400, 719, 720) },
    { weight: 2, arbitrary: fc.constantFrom(2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 63, Number.MAX_VALUE) },
  );
  const BYTES_PER: Record<string, number> = { FP32: 4, INT64: 8 };
  const CLIENT_ERRORS = [status.INVALID_ARGUMENT, status.NOT_FOUND, status.OUT_OF_RANGE, status.RESOURCE_EXHAUSTED, status.FAILED_PRECONDITION];

  /** Every served graph's inputs, valid shapes (variable dims 2, or the graph's minimum), bounds per axis and KServe datatypes. */
  const graphInputs = () =>
    server.context.repository.readyModels().flatMap((m) =>
      [...m.graphs.values()].map((g) => ({
        name: g.qualifiedName,
        inputs: g.inputs.map((t) => ({
          name: t.name,
          datatype: kserveDatatype(t.type),
          shape: t.shape.map((d, axis) => (d >= 0 ? d : Math.max(2, g.signature.minimums?.find((x) => x.input === t.name && x.axis === axis)?.length ?? 0))),
          bounds: t.shape.map((_, axis) => g.signature.maximums?.find((x) => x.input === t.name && x.axis === axis)?.length),
        })),
      })),
    );
  /** Lengths at an axis's upper bound and past it. */
  const nearBound = (bound: number | undefined) => (bound === undefined ? DIM : fc.constantFrom(bound, bound + 1, bound * 2, 100_000));

  it('REST JSON, binary extension, gRPC raw and typed: a valid result or a client error, never a crash', async () => {
    const graphs = graphInputs();
    expect(graphs.length).toBeGreaterThanOrEqual(7);
    const grpc = kserveGrpcClient(server.grpc);
    // per input: its valid shape with some dimensions replaced, sometimes a rank one longer or shorter;
    // data for as many elements as the shape holds when that is small, else a few elements
    const request = fc.integer({ min: 0, max: graphs.length - 1 }).chain((gi) =>
      fc.record({
        graph: fc.constant(graphs[gi]),
        inputs: fc.tuple(
          ...graphs[gi].inputs.map((input) =>
            fc
              .record({
                dims: fc.tuple(
                  ...input.shape.map((d, axis) =>
                    fc.oneof({ weight: 2, arbitrary: fc.constant(d) }, { weight: 1, arbitrary: DIM }, { weight: 1, arbitrary: nearBound(input.bounds[axis]) }),
                  ),
                ),
                rank: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
                extra: DIM,
                short: fc.nat({ max: 6 }),
              })
              .map(({ dims, rank, extra, short }) => {
                const shape = rank < 0 ? dims.slice(1) : rank > 0 ? [...dims, extra] : dims;
                const product = shape.reduce((a, b) => a * b, 1);
                return { name: input.name, datatype: input.datatype, shape, elements: product <= 50_000 ? product : short };
              }),
          ),
        ),
        transport: fc.constantFrom('json', 'binary', 'grpc-raw', 'grpc-typed'),
      }),
    );
    const value = (datatype: string) => (datatype === 'FP32' ? 0.5 : 1);
    const bytes = (datatype: string, n: number) => {
      const b = Buffer.alloc(n * (BYTES_PER[datatype] ?? 4));
      if (datatype === 'INT64') for (let i = 0; i < n; i++) b.writeBigInt64LE(1n, i * 8);
      else for (let i = 0; i < n; i++) b.writeFloatLE(0.5, i * 4);
      return b;
    };
    try {
      await fc.assert(
        fc.asyncProperty(request, async ({ graph, inputs, transport }) => {
          const what = `${transport} ${graph.name} ${inputs.map((i) => `${i.name}[${i.shape.join(',')}]`).join(' ')}`;
          if (transport === 'json') {
            const body = { inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, data: new Array<number>(i.elements).fill(value(i.datatype)) })) };
            await expectHandled(await post(`/v2/models/${graph.name}/infer`, JSON.stringify(body)), what);
          } else if (transport === 'binary') {
            const blobs = inputs.map((i) => bytes(i.datatype, i.elements));
            const header = Buffer.from(
              JSON.stringify({ inputs: inputs.map((i, k) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: blobs[k].length } })) }),
            );
            await expectHandled(
              await post(`/v2/models/${graph.name}/infer`, new Uint8Array(Buffer.concat([header, ...blobs])), {
                'content-type': 'application/octet-stream',
                'inference-header-content-length': String(header.length),
              }),
              what,
            );
          } else {
            // int64 shapes as decimal strings, as protobuf sends them (2^63 does not fit: refused by the decoder or the check)
            const shape = (d: number) => (Number.isFinite(d) ? BigInt(d).toString() : '9223372036854775807');
            const msg = {
              model_name: graph.name,
              inputs: inputs.map((i) => ({
                name: i.name,
                datatype: i.datatype,
                shape: i.shape.map(shape),
                ...(transport === 'grpc-typed'
                  ? { contents: { [i.datatype === 'INT64' ? 'int64_contents' : 'fp32_contents']: new Array(i.elements).fill(i.datatype === 'INT64' ? '1' : 0.5) } }
                  : {}),
              })),
              ...(transport === 'grpc-raw' ? { raw_input_contents: inputs.map((i) => bytes(i.datatype, i.elements)) } : {}),
            };
            const code = await grpc.modelInfer(msg).then(
              () => status.OK,
              (e: ServiceError) => e.code,
            );
            if (code !== status.OK && !CLIENT_ERRORS.includes(code)) throw new Error(`${what}: status ${status[code]}`);
          }
        }),
        { ...settings, numRuns: RUNS * 4 },
      );
      // still serving after all of that
      expect((await app.request('/v2/health/ready')).status).toBe(200);
    } finally {
      grpc.close();
    }
  }, 120_000);
});
