/**
 * Streaming speech recognition: single-stream real-time factor; batched scheduling vs one stream at
 * a time (in-process, the same steps); and how many concurrent real-time gRPC streams (audio sent at
 * 1x real time over loopback with the Google Speech API) the server sustains with p95 interim
 * latency <= 300 ms.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { BatchScheduler } from '../server/core/batching/batch-scheduler.ts';
import type { TensorMap } from '../server/core/graph-runner.ts';
import { stepBatchAxes } from '../server/core/speech/load-acoustic-model.ts';
import { RecognizerStream, type AcousticModel } from '../server/core/speech/recognizer-stream.ts';
import { loadProto } from '../server/grpc/load-proto.ts';
import { Metrics } from '../server/observability/metrics.ts';
import { ModelRepository } from '../server/runtime/model-repository.ts';
import { asTaskModel } from '../server/runtime/task-models.ts';
import { SessionFactory } from '../server/runtime/session-factory.ts';
import { spawnServer } from './spawn-server.ts';
import { percentile } from './stats.ts';

/** The models folder whose `asr` is measured (BENCH_MODELS: e.g. a candidate recognizer beside the bundled one). */
const MODELS = process.env.BENCH_MODELS ?? BUNDLED_MODELS_DIR;
const SAMPLE_DIR = path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample');

/** The batch axes the server batches the recognizer's steps on (its manifest's). */
function batchAxesOf(repo: ModelRepository): Record<string, number> {
  const { audio, decoding, graphs } = repo.model('asr').manifest;
  const acoustic = Object.values(graphs).find((g) => g.role === 'acoustic');
  if (!audio || decoding?.kind !== 'ctc' || !acoustic) throw new Error('asr: not a CTC recognizer');
  return stepBatchAxes(audio.input, decoding.logProbs, acoustic);
}

function sampleAudio(): Float32Array[] {
  return readdirSync(SAMPLE_DIR)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => decodeWav(readFileSync(path.join(SAMPLE_DIR, f))).samples);
}

async function loadModel(): Promise<{ repo: ModelRepository; model: AcousticModel }> {
  const log = pino({ level: 'warn' });
  const repo = new ModelRepository({
    root: MODELS,
    sessions: new SessionFactory({ ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, log),
    log,
    metrics: new Metrics(),
    queue: DEFAULT_CONFIG.queue,
  });
  await repo.load('asr');
  return { repo, model: asTaskModel(repo.model('asr'), 'speech-recognition').taskModel };
}

async function recognise(model: AcousticModel, audio: Float32Array): Promise<void> {
  const s = new RecognizerStream(model, { sampleRate: 16000 });
  for (let i = 0; i < audio.length; i += 1600) await s.push(audio.subarray(i, i + 1600));
  await s.end();
}

/** Audio seconds processed per wall-clock second with `streams` streams decoding concurrently. */
async function throughput(model: AcousticModel, clips: Float32Array[], streams: number): Promise<number> {
  const jobs = Array.from({ length: streams }, (_, i) => clips[i % clips.length]);
  const seconds = jobs.reduce((a, c) => a + c.length / 16000, 0);
  const t0 = performance.now();
  await Promise.all(jobs.map((c) => recognise(model, c)));
  return seconds / ((performance.now() - t0) / 1000);
}

async function grpcLoad(port: number, clips: Float32Array[], streams: number, seconds: number): Promise<{ p50: number; p95: number; responses: number; errors: number }> {
  const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
  const client = new pkg.google.cloud.speech.v1.Speech(`127.0.0.1:${port}`, credentials.createInsecure());
  const latencies: number[] = [];
  let errors = 0;
  const tick = 100; // ms of audio per message, sent every 100 ms
  const one = (k: number) =>
    new Promise<void>((resolve) => {
      const clip = clips[k % clips.length];
      const sentAt: number[] = []; // send time of each 100 ms message
      const call = client.StreamingRecognize();
      call.on('data', (r: { results: { result_end_time?: { seconds: string; nanos: number } }[] }) => {
        const end = r.results[0]?.result_end_time;
        if (!end) return;
        const t = Number(end.seconds) + end.nanos / 1e9;
        const sent = sentAt[Math.min(sentAt.length - 1, Math.max(0, Math.ceil((t * 1000) / tick) - 1))];
        if (sent !== undefined) latencies.push(performance.now() - sent);
      });
      call.on('error', () => {
        errors++;
        resolve();
      });
      call.on('end', () => resolve());
      call.write({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000 }, interim_results: true } });
      const total = Math.floor((seconds * 1000) / tick);
      let n = 0;
      const startDelay = Math.random() * tick;
      const send = () => {
        if (n >= total) {
          call.end();
          return;
        }
        const from = ((n * tick * 16) % clip.length) | 0;
        const piece = clip.subarray(from, from + tick * 16);
        const pcm = Buffer.alloc(tick * 16 * 2);
        piece.forEach((v, i) => pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), i * 2));
        sentAt.push(performance.now());
        call.write({ audio_content: pcm });
        n++;
        setTimeout(send, tick - ((performance.now() - startAt - startDelay) % tick));
      };
      const startAt = performance.now();
      setTimeout(send, startDelay);
    });
  await Promise.all(Array.from({ length: streams }, (_, k) => one(k)));
  client.close();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p95: percentile(latencies, 95), responses: latencies.length, errors };
}

export async function benchSpeechStreams(): Promise<string> {
  const clips = sampleAudio();
  const lines: string[] = [`### Streaming speech recognition (model \`asr\`${process.env.BENCH_MODELS ? ` of ${process.env.BENCH_MODELS}` : ''})`, ''];
  const { repo, model } = await loadModel();
  const graph = repo.graph('asr');
  try {
    // One stream, steps straight to the session: real-time factor.
    const direct: AcousticModel = { ...model, step: (feeds: TensorMap) => graph.run(feeds) };
    const audioSeconds = clips.reduce((a, c) => a + c.length / 16000, 0);
    const t0 = performance.now();
    for (const c of clips) await recognise(direct, c);
    const rtf = (performance.now() - t0) / 1000 / audioSeconds;
    lines.push(
      `Single stream, in-process: real-time factor **${rtf.toFixed(4)}** (${audioSeconds.toFixed(1)} s of audio in ${((performance.now() - t0) / 1000).toFixed(2)} s).`,
      '',
    );
    // Same work, 64 concurrent streams: one at a time vs batched by the scheduler.
    const alone = await throughput(direct, clips, 64);
    const batchedModel: AcousticModel = {
      ...model,
      step: (
        (s) => (f: TensorMap) =>
          s.submit(f)
      )(new BatchScheduler(graph, { batchAxes: batchAxesOf(repo), maxBatch: 64 })),
    };
    const batched = await throughput(batchedModel, clips, 64);
    lines.push(
      '| 64 concurrent streams, in-process | audio s per wall s |',
      '|---|---:|',
      `| one step at a time | ${alone.toFixed(1)} |`,
      `| batched scheduler | ${batched.toFixed(1)} |`,
      '',
    );
    lines.push(`Batched / one-at-a-time: **${(batched / alone).toFixed(2)}×**.`, '');
  } finally {
    await repo.close();
  }
  const server = await spawnServer(['--providers', 'cpu', ...(process.env.BENCH_MODELS ? ['--models', MODELS] : [])]);
  try {
    lines.push('| concurrent real-time gRPC streams (10 s each) | interim p50 ms | interim p95 ms | responses | errors |', '|---:|---:|---:|---:|---:|');
    for (const streams of [25, 50, 100, 150, 200, 300]) {
      const r = await grpcLoad(server.grpcPort, clips, streams, 10);
      lines.push(`| ${streams} | ${r.p50.toFixed(0)} | ${r.p95.toFixed(0)} | ${r.responses} | ${r.errors} |`);
    }
  } finally {
    await server.stop();
  }
  lines.push(
    '',
    'Latency: from sending the 100 ms message that completes the audio a result covers (its result_end_time) to receiving that result; audio is sent at 1x real time by clients on the same 2 cores.',
  );
  return lines.join('\n');
}
