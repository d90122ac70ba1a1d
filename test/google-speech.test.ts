import { readFileSync } from 'node:fs';
import path from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import speech from '@google-cloud/speech';
import { wordErrors } from '../server/core/text/edit-distance.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { loadProto } from '../server/grpc/load-proto.ts';
import { SeededRandom } from '../server/core/random.ts';
import { startTestServer } from './helpers/test-server.ts';

const SAMPLE_DIR = path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample');
const sample = readFileSync(path.join(SAMPLE_DIR, 'transcripts.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { file: string; text: string });

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ limits: { ...DEFAULT_CONFIG.limits, maxStreamSeconds: 20 } });
});
afterAll(async () => {
  await server.close();
});

/** 16-bit PCM of a held-out WAV (LINEAR16), optionally repeated. */
function pcm16(file: string, repeat = 1): Buffer {
  const wav = readFileSync(path.join(SAMPLE_DIR, file));
  const samples = decodeWav(wav).samples;
  const out = Buffer.alloc(samples.length * 2 * repeat);
  for (let r = 0; r < repeat; r++) samples.forEach((v, i) => out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), (r * samples.length + i) * 2));
  return out;
}

const config = { encoding: 'LINEAR16' as const, sampleRateHertz: 16000, languageCode: 'en-US', enableWordTimeOffsets: true, maxAlternatives: 2 };

function googleClient() {
  return new speech.SpeechClient({ apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: credentials.createInsecure() } as never);
}

/** Streams LINEAR16 audio in 8000-byte messages through the official client; resolves with every response. */
function streamAudio(client: ReturnType<typeof googleClient>, request: object, audio: Buffer): Promise<any[]> {
  const responses: any[] = [];
  return new Promise((resolve, reject) => {
    const stream = client
      .streamingRecognize(request as never)
      .on('data', (r: unknown) => responses.push(r))
      .on('error', reject)
      .on('end', () => resolve(responses));
    for (let i = 0; i < audio.length; i += 8000) stream.write(audio.subarray(i, i + 8000));
    stream.end();
  });
}

describe('Google Cloud Speech v1 API', () => {
  it('the official @google-cloud/speech client streams a WAV and gets interim and final results with word times', async () => {
    const client = googleClient();
    const responses = await streamAudio(client, { config, interimResults: true }, pcm16(sample[0].file));
    await client.close();
    const results = responses.flatMap((r) => r.results);
    const finals = results.filter((r) => r.isFinal);
    expect(finals.length).toBeGreaterThan(0);
    expect(results.some((r) => !r.isFinal && typeof r.stability === 'number')).toBe(true);
    const alt = finals[0].alternatives[0];
    expect(alt.transcript.length).toBeGreaterThan(0);
    expect(alt.confidence).toBeGreaterThan(0);
    expect(alt.words.length).toBe(alt.transcript.split(' ').length);
    expect(Number(alt.words[0].endTime.seconds) + alt.words[0].endTime.nanos / 1e9).toBeGreaterThan(Number(alt.words[0].startTime.seconds) + alt.words[0].startTime.nanos / 1e9);
    expect(finals[0].resultEndTime).toBeTruthy();
  });

  it('the official client recognizes with the unary Recognize call, at 8 kHz too', async () => {
    const client = googleClient();
    const [wav] = await client.recognize({ config, audio: { content: readFileSync(path.join(SAMPLE_DIR, sample[1].file)) } });
    expect(wav.results?.length).toBeGreaterThan(0);
    // Resampled server-side: 8 kHz PCM of the same utterance.
    const pcm = pcm16(sample[1].file);
    const down = Buffer.alloc(Math.floor(pcm.length / 4) * 2);
    for (let i = 0; i < down.length / 2; i++) down.writeInt16LE(pcm.readInt16LE(i * 4), i * 2);
    const [narrow] = await client.recognize({ config: { ...config, sampleRateHertz: 8000 }, audio: { content: down } });
    expect(narrow.results?.[0]?.alternatives?.[0]?.transcript?.length ?? 0).toBeGreaterThan(0);
    await client.close();
  });

  it('speech_contexts phrases act as hotwords in the beam: boosting the spoken words brings fewer errors', async () => {
    const client = googleClient();
    const words = (t: string) => t.split(' ').filter(Boolean);
    let plain = 0;
    let boosted = 0;
    for (const item of sample.slice(0, 6)) {
      const audio = { content: readFileSync(path.join(SAMPLE_DIR, item.file)) };
      const text = (r: { results?: { alternatives?: { transcript?: string | null }[] | null }[] | null }) =>
        (r.results ?? []).map((x) => x.alternatives?.[0]?.transcript ?? '').join(' ');
      const [a] = await client.recognize({ config, audio });
      const [b] = await client.recognize({ config: { ...config, speechContexts: [{ phrases: words(item.text), boost: 10 }] }, audio });
      plain += wordErrors(item.text, text(a));
      boosted += wordErrors(item.text, text(b));
    }
    expect(boosted).toBeLessThan(plain);
    await client.close();
  });

  it('sends END_OF_SINGLE_UTTERANCE and ends the stream with single_utterance', async () => {
    const client = googleClient();
    // Two utterances separated by 2 s of silence: only the first is recognised.
    const audio = Buffer.concat([pcm16(sample[2].file), Buffer.alloc(64000), pcm16(sample[3].file)]);
    const responses = await streamAudio(client, { config, singleUtterance: true }, audio);
    await client.close();
    expect(responses.some((r) => r.speechEventType === 'END_OF_SINGLE_UTTERANCE')).toBe(true);
    expect(responses.flatMap((r) => r.results).filter((r) => r.isFinal)).toHaveLength(1);
  });

  describe('bad streams get clear status codes', () => {
    const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
    const stream = (writes: object[]) =>
      new Promise<ServiceError | undefined>((resolve) => {
        const client = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
        const call = client.StreamingRecognize();
        call.on('data', () => undefined);
        call.on('error', (err: ServiceError) => {
          client.close();
          resolve(err);
        });
        call.on('end', () => {
          client.close();
          resolve(undefined);
        });
        for (const w of writes) call.write(w);
        call.end();
      });
    const cfg = (c: object) => ({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000, ...c } } });

    it('audio before config, bad encoding or rate, oversize messages, unknown model', async () => {
      const cases: [object[], status, RegExp][] = [
        [[{ audio_content: Buffer.alloc(320) }], status.INVALID_ARGUMENT, /first request must carry streaming_config/],
        [[cfg({ encoding: 'MP3' })], status.INVALID_ARGUMENT, /encoding: MP3 is not supported/],
        [[cfg({ sample_rate_hertz: 96000 })], status.INVALID_ARGUMENT, /sample_rate_hertz: must be between 8000 and 48000/],
        [[cfg({}), { audio_content: Buffer.alloc(30000) }], status.INVALID_ARGUMENT, /audio_content: 30000 bytes is over the limit/],
        [[cfg({ model: 'nope' })], status.NOT_FOUND, /unknown model "nope"/],
        [[cfg({}), cfg({})], status.INVALID_ARGUMENT, /streaming_config: may only be sent in the first request/],
        [[cfg({ speech_contexts: [{ phrases: ['x'.repeat(101)] }] })], status.INVALID_ARGUMENT, /speech_contexts: phrase 0 is over 100 characters/],
        // each alternative widens the beam: Google's bound (0-30), not a width of billions
        [[cfg({ max_alternatives: 2147483647 }), { audio_content: Buffer.alloc(3200) }], status.INVALID_ARGUMENT, /config.max_alternatives: must be between 0 and 30/],
      ];
      for (const [writes, code, message] of cases) {
        const err = await stream(writes);
        expect({ code: err?.code, details: err?.details }).toMatchObject({ code, details: expect.stringMatching(message) });
      }
    });

    it('Recognize with a WAV body: the rest of its config is checked as for raw audio', async () => {
      const client = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
      const content = readFileSync(path.join(SAMPLE_DIR, sample[0].file));
      const recognize = (c: object) =>
        new Promise<ServiceError | null>((resolve) =>
          client.Recognize({ config: { encoding: 'ENCODING_UNSPECIFIED', ...c }, audio: { content } }, (err: ServiceError | null) => resolve(err)),
        );
      const cases: [object, RegExp][] = [
        [{ speech_contexts: [{ phrases: ['x'.repeat(5000)] }] }, /config.speech_contexts: phrase 0 is over 100 characters/],
        [{ max_alternatives: 31 }, /config.max_alternatives: must be between 0 and 30, not 31/],
      ];
      for (const [c, message] of cases) expect(await recognize(c)).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(message) });
      expect(await recognize({ max_alternatives: 3, audio_channel_count: 2 })).toBeNull(); // the file's own channels and rate
      // a big-endian RIFX file of the same audio is a WAV file too (it was read as raw PCM)
      const transcript = (content: Uint8Array) =>
        new Promise<string>((resolve, reject) =>
          client.Recognize({ config: {}, audio: { content } }, (err: ServiceError | null, r: { results: { alternatives: { transcript: string }[] }[] }) =>
            err ? reject(err) : resolve(r.results.map((x) => x.alternatives[0].transcript).join(' ')),
          ),
        );
      const pcm = pcm16(sample[0].file);
      const rifx = Buffer.alloc(44 + pcm.length);
      rifx.write('RIFX', 0);
      rifx.writeUInt32BE(36 + pcm.length, 4);
      rifx.write('WAVEfmt ', 8);
      [16, 1, 1, 16000, 32000, 2, 16].forEach((v, i) =>
        i === 0 || i === 3 || i === 4 ? rifx.writeUInt32BE(v, [16, 20, 22, 24, 28, 32, 34][i]) : rifx.writeUInt16BE(v, [16, 20, 22, 24, 28, 32, 34][i]),
      );
      rifx.write('data', 36);
      rifx.writeUInt32BE(pcm.length, 40);
      for (let i = 0; i < pcm.length; i += 2) rifx.writeInt16BE(pcm.readInt16LE(i), 44 + i);
      const plain = await transcript(content);
      expect(plain.length).toBeGreaterThan(0);
      expect(await transcript(rifx)).toBe(plain);
      client.close();
    });

    it('a client that vanishes mid-stream frees its stream', async () => {
      const client = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
      const call = client.StreamingRecognize();
      call.on('error', () => undefined);
      call.on('data', () => undefined);
      call.write(cfg({}));
      for (let i = 0; i < 5; i++) call.write({ audio_content: pcm16(sample[0].file).subarray(i * 6400, (i + 1) * 6400) });
      const active = async () => (await server.context.metrics.activeStreams.get()).values.find((v) => v.labels.api === 'google_speech')?.value ?? 0;
      for (let i = 0; i < 50 && (await active()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await active()).toBe(1);
      call.cancel();
      for (let i = 0; i < 100 && (await active()) !== 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await active()).toBe(0);
      client.close();
    });

    it('a stream longer than the limit ends with OUT_OF_RANGE', async () => {
      const chunk = Buffer.alloc(16000); // 0.5 s of silence
      const err = await stream([cfg({}), ...Array.from({ length: 42 }, () => ({ audio_content: chunk }))]);
      expect(err?.code).toBe(status.OUT_OF_RANGE);
      expect(err?.details).toMatch(/longer than the limit of 20 s/);
      expect(await server.context.repository.model('asr')).toBeTruthy();
    });
  });

  describe('cancellation and metrics', () => {
    const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
    const r = new SeededRandom(17);
    /** Five minutes of noise at a speech-like level: seconds of work for the recognizer. */
    const noise = Buffer.from(Int16Array.from({ length: 300 * 16000 }, () => Math.round(3000 * r.gaussian())).buffer);
    const requestsOpen = () => server.context.admission.count('asr', 'request');
    async function until(check: () => boolean, ms: number): Promise<number> {
      const t0 = Date.now();
      while (!check()) {
        if (Date.now() - t0 > ms) throw new Error(`condition not reached in ${ms} ms`);
        await new Promise((res) => setTimeout(res, 10));
      }
      return Date.now() - t0;
    }
    const outcomes = async (endpoint: string) =>
      (await server.context.metrics.requests.get()).values.filter((v) => v.labels.endpoint === endpoint).map((v) => ({ ...v.labels, value: v.value }));

    it('Recognize stops its work when the client cancels or its deadline passes: the admission place is freed at once', async () => {
      const client = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
      const request = { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000 }, audio: { content: noise } };
      // cancelled by the client while the recognizer is busy with the first seconds
      const cancelled = new Promise<ServiceError | null>((resolve) => {
        const call = client.Recognize(request, (err: ServiceError | null) => resolve(err));
        void until(() => requestsOpen() === 1, 10_000).then(() => setTimeout(() => call.cancel(), 200));
      });
      expect((await cancelled)?.code).toBe(status.CANCELLED);
      expect(await until(() => requestsOpen() === 0, 1500)).toBeLessThan(1500); // the whole transcription takes several seconds
      // a deadline the transcription cannot meet
      const t0 = Date.now();
      const late = await new Promise<ServiceError | null>((resolve) =>
        client.Recognize(request, new Metadata(), { deadline: Date.now() + 500 }, (err: ServiceError | null) => resolve(err)),
      );
      expect(late?.code).toBe(status.DEADLINE_EXCEEDED);
      await until(() => requestsOpen() === 0, 1500);
      expect(Date.now() - t0).toBeLessThan(2500);
      client.close();
      expect(await outcomes('speech_recognize')).toEqual(
        expect.arrayContaining([
          { model: 'asr', endpoint: 'speech_recognize', outcome: 'cancelled', value: 1 },
          { model: 'asr', endpoint: 'speech_recognize', outcome: 'deadline_exceeded', value: 1 },
        ]),
      );
    }, 60_000);

    it('succeeding and failing requests and streams are counted under the same labels: the model that served them and the endpoint', async () => {
      const client = googleClient();
      await streamAudio(client, { config, interimResults: false }, pcm16(sample[4].file));
      await expect(streamAudio(client, { config }, Buffer.concat([pcm16(sample[4].file), Buffer.alloc(1)]))).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
      await client.recognize({ config, audio: { content: pcm16(sample[4].file) } });
      await client.close();
      for (const endpoint of ['speech_streaming', 'speech_recognize']) {
        const series = await outcomes(endpoint);
        expect(series.map((s) => s.outcome)).toEqual(expect.arrayContaining(['ok', expect.not.stringMatching(/^ok$/)]));
        for (const s of series) expect(Object.keys(s).sort()).toEqual(['endpoint', 'model', 'outcome', 'value']);
        expect(new Set(series.map((s) => s.model))).toEqual(new Set(['asr']));
        const durations = (await server.context.metrics.requestDuration.get()).values.filter((v) => v.labels.endpoint === endpoint && v.metricName?.endsWith('_count'));
        expect(durations.map((v) => v.labels)).toEqual([{ model: 'asr', endpoint }]); // successes and failures in one series
        expect(durations[0].value).toBe(series.reduce((n, s) => n + s.value, 0));
      }
    });
  });
});
