/**
 * Chat generation throughput: aggregate tokens/s and time to first token at 1, 8, 32 and 128
 * concurrent streaming requests (SSE over loopback, each client sending its next request as soon
 * as one ends), the same requests one at a time, and raw onnxruntime-node running the same
 * batched decoder steps in-process (no server, no scheduler).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { sseData } from '../clients/lib/http-client.ts';
import { GenerationEngine } from '../server/core/generation/generation-engine.ts';
import { argmax } from '../server/core/generation/sampling.ts';
import { loadSeq2SeqModel } from '../server/core/generation/seq2seq-model.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { SpelledWordTokenizer } from '../server/core/text/spelled-word-tokenizer.ts';
import { spawnServer } from './spawn-server.ts';
import { percentile, runFor } from './stats.ts';

const MODELS = process.env.BENCH_MODELS ?? path.resolve(import.meta.dirname, '..', 'models');
const MODEL_DIR = path.join(MODELS, 'chat');
/** Sessions as the benchmarked server runs them (`--intra-op-threads 1`). */
const SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1 };
const chatManifest = () => parseManifest(JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8')));

const PROMPTS = [
  'i want to fly from taipei to tokyo on march 3rd',
  'book a flight from lisbon to oslo for next friday',
  'i need a ticket from chicago to denver on the 12th of may',
  'hello there',
  'are there any flights from paris to rome on july 4th',
  'i want to fly to berlin',
];

interface Run {
  label: string;
  concurrency: number;
  tokens: number;
  seconds: number;
  ttft: number[];
}

async function streamOnce(url: string, prompt: string): Promise<{ tokens: number; ttft: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: prompt }], stream: true, temperature: 0 }),
  });
  let ttft = NaN;
  let tokens = 0;
  for await (const data of sseData(res)) {
    // a cheap test instead of JSON.parse: the client shares the 2 cores with the server
    const at = data.indexOf('"delta":{"content":"');
    if (at >= 0 && data[at + 20] !== '"') {
      if (Number.isNaN(ttft)) ttft = performance.now() - t0;
      tokens++;
    }
  }
  return { tokens, ttft };
}

async function closedLoop(url: string, concurrency: number, seconds: number, label: string): Promise<Run> {
  const ttft: number[] = [];
  let tokens = 0;
  const elapsed = await runFor(concurrency, seconds, async (i) => {
    const r = await streamOnce(url, PROMPTS[i % PROMPTS.length]);
    tokens += r.tokens;
    ttft.push(r.ttft);
  });
  return { label, concurrency, tokens, seconds: elapsed, ttft: ttft.sort((a, b) => a - b) };
}

/** Raw onnxruntime-node: `batch` rows of greedy decoder steps in one process, no server. */
async function rawBatched(batch: number, steps: number): Promise<number> {
  const vocab = JSON.parse(readFileSync(path.join(MODEL_DIR, 'vocab.json'), 'utf8')) as string[];
  const tok = new SpelledWordTokenizer(vocab, 3, new Set([0, 1, 2, 3, 4, 5]));
  const encoder = await ort.InferenceSession.create(path.join(MODEL_DIR, 'encoder.onnx'), SESSION_OPTIONS);
  const decoder = await ort.InferenceSession.create(path.join(MODEL_DIR, 'decoder.onnx'), SESSION_OPTIONS);
  const sources = Array.from({ length: batch }, (_, i) => [4, ...tok.encode(PROMPTS[i % PROMPTS.length])]);
  const S = Math.max(...sources.map((s) => s.length));
  const ids = new BigInt64Array(batch * S);
  sources.forEach((s, i) => s.forEach((t, j) => (ids[i * S + j] = BigInt(t))));
  const enc = await encoder.run({ src_tokens: new ort.Tensor('int64', ids, [batch, S]) });
  // the encoder outputs the decoder reads every step, as the manifest names them
  const memory = Object.fromEntries(chatManifest().generation!.encoder.memory.map((name) => [name, enc[name]]));
  let h = enc.h0;
  let prev = new ort.Tensor('int64', new BigInt64Array(batch).fill(1n), [batch]);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const out = await decoder.run({ prev_token: prev, h_in: h, ...memory });
    h = out.h_out;
    const logits = out.logits.data as Float32Array;
    const V = out.logits.dims[1];
    const next = new BigInt64Array(batch);
    for (let b = 0; b < batch; b++) next[b] = BigInt(argmax(logits.subarray(b * V, (b + 1) * V)));
    prev = new ort.Tensor('int64', next, [batch]);
  }
  const seconds = (performance.now() - t0) / 1000;
  await encoder.release();
  await decoder.release();
  return (batch * steps) / seconds;
}

/**
 * The generation engine in-process (no HTTP): `concurrency` closed-loop consumers of generate(),
 * the same prompts and greedy decoding as the HTTP clients. Separates what the engine (scheduling,
 * batching, sampling, detokenizing) costs from what the HTTP path adds.
 */
async function engineInProcess(concurrency: number, seconds: number): Promise<number> {
  const manifest = chatManifest();
  const sessions = Object.fromEntries(await Promise.all(Object.entries(manifest.graphs).map(async ([name, g]) => [name, await ort.InferenceSession.create(path.join(MODEL_DIR, g.file), SESSION_OPTIONS)] as const)));
  const runners = Object.fromEntries(Object.entries(sessions).map(([name, s]) => [name, { inputNames: s.inputNames, outputNames: s.outputNames, run: (feeds: Record<string, ort.Tensor>) => s.run(feeds) }]));
  const model = await loadSeq2SeqModel(manifest, async (file) => readFileSync(path.join(MODEL_DIR, file)), runners);
  const engine = new GenerationEngine(model, { maxRows: 256, maxWaiting: 1024 });
  const { roles } = model.spec;
  let tokens = 0;
  const elapsed = await runFor(concurrency, seconds, async (i) => {
    const source = [roles!.user, ...model.tokenizer.encode(PROMPTS[i % PROMPTS.length])];
    for await (const e of engine.generate({ source, maxNewTokens: model.spec.maxNewTokens })) if (e.type === 'token') tokens++;
  });
  await Promise.all(Object.values(sessions).map((s) => s.release()));
  return tokens / elapsed;
}

export async function benchChatStreams(seconds = Number(process.env.BENCH_CHAT_SECONDS ?? 8)): Promise<string> {
  const server = await spawnServer(['--intra-op-threads', '1', '--models', MODELS]);
  const url = `http://127.0.0.1:${server.httpPort}`;
  const runs: Run[] = [];
  try {
    await closedLoop(url, 4, 1, 'warm-up');
    for (const c of [1, 8, 32, 128]) runs.push(await closedLoop(url, c, seconds, 'concurrent'));
  } finally {
    await server.stop();
  }
  const oneAtATime = runs[0];
  const engine32 = await engineInProcess(32, seconds);
  const engine1 = await engineInProcess(1, seconds);
  const raw32 = await rawBatched(32, 200);
  const raw1 = await rawBatched(1, 200);
  const rate = (r: Run) => r.tokens / r.seconds;
  const rows = runs.map(
    (r) =>
      `| ${r.concurrency} | ${rate(r).toFixed(0)} | ${(rate(r) / rate(oneAtATime)).toFixed(1)}× | ${percentile(r.ttft, 50).toFixed(1)} | ${percentile(r.ttft, 99).toFixed(1)} | ${r.ttft.length} |`,
  );
  const at32 = runs.find((r) => r.concurrency === 32)!;
  return [
    '### Chat generation (`chat` model, streaming SSE over loopback, greedy)',
    '',
    `Closed loop for ${seconds} s per row: each client sends its next request when the last one ends. "One at a time" is the concurrency-1 row.`,
    '',
    '| concurrent streams | tokens/s (aggregate) | vs one at a time | TTFT p50 ms | TTFT p99 ms | requests |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Raw onnxruntime-node in-process, same decoder, greedy steps (1 intra-op thread): batch 32 → ${raw32.toFixed(0)} tokens/s, batch 1 → ${raw1.toFixed(0)} tokens/s.`,
    `The generation engine in-process (no HTTP, same prompts, closed loop): 32 consumers → ${engine32.toFixed(0)} tokens/s, 1 consumer → ${engine1.toFixed(0)} tokens/s.`,
    `At 32 concurrent streams the server reaches ${((rate(at32) / raw32) * 100).toFixed(0)} % of the raw batched rate and ${(rate(at32) / rate(oneAtATime)).toFixed(1)}× the one-at-a-time rate.`,
  ].join('\n');
}
