/**
 * Cancellation at scale: 10,000 streams — chat completions over SSE and Google-style speech
 * recognition over gRPC, mixed, 64 open at a time — each abandoned by its client after its first
 * response. Every one must stop its work and give back its scheduler rows, recognizer state and
 * admission place: afterwards nothing is active, and the server's memory has not grown past a bound.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProto } from '../server/grpc/load-proto.ts';
import { SeededRandom } from '../server/core/random.ts';
import { startTestServer } from './helpers/test-server.ts';
import { asTaskModel } from '../server/runtime/task-models.ts';

const STREAMS = Number(process.env.CANCEL_STREAMS ?? 10_000);
const CONCURRENCY = 64;
/**
 * What the process (server and its test clients) may gain over the run, after a warm-up of the same
 * traffic: live JS heap after a full collection (what a leak would grow), and resident memory (which
 * also holds the allocators' high-water marks, so its bound is looser).
 */
const HEAP_BOUND_MB = 16;
const RSS_BOUND_MB = 200;

const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
let server: Awaited<ReturnType<typeof startTestServer>>;
let speech: any;

beforeAll(async () => {
  server = await startTestServer();
  speech = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
});
afterAll(async () => {
  speech?.close();
  await server?.close();
});

const r = new SeededRandom(4);
const audio = Buffer.from(Int16Array.from({ length: 16000 }, () => Math.round(2000 * r.gaussian())).buffer);

/** A chat stream read up to its first chunk, then dropped. */
async function abandonChat(i: number): Promise<void> {
  const abort = new AbortController();
  const res = await fetch(`${server.http}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: `book a flight to boston for ${i % 28} march` }], stream: true, temperature: 0.7, seed: i, max_tokens: 40 }),
    signal: abort.signal,
  });
  const reader = res.body!.getReader();
  await reader.read();
  abort.abort();
  await reader.cancel().catch(() => undefined);
}

/** A recognition stream that sends its config and one second of audio, then is cancelled. */
function abandonSpeech(): Promise<void> {
  return new Promise((resolve) => {
    const call = speech.StreamingRecognize(new Metadata());
    call.on('error', () => resolve()); // CANCELLED, as the client asked
    call.on('end', () => resolve());
    call.on('data', () => undefined);
    call.write({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000 }, interim_results: true } });
    call.write({ audio_content: audio.subarray(0, 16000) }, () => {
      call.write({ audio_content: audio.subarray(16000) }, () => call.cancel());
    });
  });
}

async function run(n: number, offset: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) await ((offset + i) % 2 === 0 ? abandonChat(offset + i) : abandonSpeech());
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function settled(): Promise<{ sequences: number; waiting: number; open: number; streams: number }> {
  const ctx = server.context;
  const chat = asTaskModel(ctx.repository.model('chat'), 'chat').taskModel;
  const state = () => ({
    sequences: chat.activeSequences,
    waiting: chat.waitingRequests,
    open: ['chat', 'asr'].reduce((n, m) => n + ctx.admission.count(m, 'stream') + ctx.admission.count(m, 'request'), 0),
    streams: 0,
  });
  const end = Date.now() + 2000;
  let s = state();
  while ((s.sequences || s.waiting || s.open) && Date.now() < end) {
    await new Promise((res) => setTimeout(res, 5));
    s = state();
  }
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  s.streams = metrics
    .split('\n')
    .filter((l) => l.startsWith('seqserve_active_streams{'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  return s;
}

describe('cancellation', () => {
  it(`frees everything of ${STREAMS} abandoned streams (chat SSE and speech gRPC)`, async () => {
    await run(2000, 0); // warm-up: allocators, JIT, pools and the runtimes' arenas reach their working size
    expect(await settled()).toEqual({ sequences: 0, waiting: 0, open: 0, streams: 0 });
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    const t0 = Date.now();
    await run(STREAMS, 2000);
    const seconds = (Date.now() - t0) / 1000;
    expect(await settled()).toEqual({ sequences: 0, waiting: 0, open: 0, streams: 0 });
    const grownMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    gc?.();
    const heapGrownMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    console.log(
      `${STREAMS} abandoned streams in ${seconds.toFixed(1)} s; RSS grew ${grownMb.toFixed(1)} MB (bound ${RSS_BOUND_MB} MB); heap after GC grew ${heapGrownMb.toFixed(1)} MB (bound ${HEAP_BOUND_MB} MB)`,
    );
    expect(grownMb).toBeLessThan(RSS_BOUND_MB);
    expect(gc).toBeDefined(); // vitest.config.ts passes --expose-gc
    expect(heapGrownMb).toBeLessThan(HEAP_BOUND_MB);
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    const cancelled = metrics.split('\n').filter((l) => l.startsWith('seqserve_requests_total') && l.includes('outcome="cancelled"'));
    expect(cancelled.length).toBeGreaterThan(0);
  }, 240_000);
});
