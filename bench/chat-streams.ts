/**
 * Chat generation throughput: aggregate tokens/s and time to first token at 1, 8, 32 and 128
 * concurrent streaming requests (SSE over loopback, each client sending its next request as soon
 * as one ends), the same requests one at a time, and raw onnxruntime-node running the same
 * batched decoder steps in-process (no server, no scheduler). Each row also reports the CPU time
 * per token of the server's main thread, of its other threads, and of the load generator, which
 * shares the machine's cores with the server.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { GenerationEngine } from '../server/core/generation/generation-engine.ts';
import { argmax } from '../server/core/generation/log-probs.ts';
import { loadSeq2SeqModel } from '../server/core/generation/seq2seq-model.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { SpelledWordTokenizer } from '../server/core/text/spelled-word-tokenizer.ts';
import { spawnServer } from './spawn-server.ts';
import { percentile, processCpu, runFor } from './stats.ts';

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
  /** CPU µs per token: the server's main thread, its other threads, the load generator. */
  cpu?: { main: number; others: number; client: number };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const CONTENT = '"delta":{"content":"';

/**
 * One streaming chat request with node:http, counting content deltas as the bytes arrive (a scan for
 * the delta's key instead of parsing each event: the load generator shares the 2 cores with the
 * server, and undici fetch with an SSE parser cost ~3x more CPU per token).
 */
function streamOnce(url: string, prompt: string): Promise<{ tokens: number; ttft: number }> {
  const t0 = performance.now();
  const body = JSON.stringify({ messages: [{ role: 'user', content: prompt }], stream: true, temperature: 0 });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/v1/chat/completions`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`chat request failed with HTTP ${res.statusCode}`));
        }
        let ttft = NaN;
        let tokens = 0;
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const text = tail + chunk;
          let from = 0;
          for (let at = text.indexOf(CONTENT); at >= 0 && at + CONTENT.length < text.length; at = text.indexOf(CONTENT, from)) {
            if (text[at + CONTENT.length] !== '"') {
              if (Number.isNaN(ttft)) ttft = performance.now() - t0;
              tokens++;
            }
            from = at + CONTENT.length + 1;
          }
          tail = text.slice(Math.max(from, text.length - CONTENT.length));
        });
        res.on('end', () => resolve({ tokens, ttft }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function closedLoop(url: string, concurrency: number, seconds: number, label: string, serverPid?: number): Promise<Run> {
  const ttft: number[] = [];
  let tokens = 0;
  const server0 = serverPid ? processCpu(serverPid) : undefined;
  const client0 = process.cpuUsage();
  const elapsed = await runFor(concurrency, seconds, async (i) => {
    const r = await streamOnce(url, PROMPTS[i % PROMPTS.length]);
    tokens += r.tokens;
    ttft.push(r.ttft);
  });
  const client = process.cpuUsage(client0);
  const server1 = serverPid ? processCpu(serverPid) : undefined;
  const cpu =
    server0 && server1 && tokens > 0
      ? { main: ((server1.main - server0.main) * 1e6) / tokens, others: ((server1.others - server0.others) * 1e6) / tokens, client: (client.user + client.system) / tokens }
      : undefined;
  return { label, concurrency, tokens, seconds: elapsed, ttft: ttft.sort((a, b) => a - b), ...(cpu ? { cpu } : {}) };
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
 * The raw pipeline the chat goal names: for `seconds`, take the next `batch` prompts (in the
 * closed loop's order), encode them in one run, then greedy decoder steps at that batch until every row
 * has ended (EOS or `maxNewTokens`); rows that ended ride along to the end, and only their tokens
 * before EOS count. No scheduler, no per-token JavaScript beyond the argmax.
 */
async function rawPipeline(batch: number, seconds: number): Promise<number> {
  const manifest = chatManifest();
  const gen = manifest.generation!;
  // graph input and output names as the manifest declares them
  const states = Object.values(manifest.graphs).find((g) => g.role === 'decoder_step')!.states;
  const initial = gen.encoder.initialStates; // decoder state input <- encoder output
  const vocab = JSON.parse(readFileSync(path.join(MODEL_DIR, 'vocab.json'), 'utf8')) as string[];
  const tok = new SpelledWordTokenizer(vocab, 3, new Set([0, 1, 2, 3, 4, 5]));
  const encoder = await ort.InferenceSession.create(path.join(MODEL_DIR, 'encoder.onnx'), SESSION_OPTIONS);
  const decoder = await ort.InferenceSession.create(path.join(MODEL_DIR, 'decoder.onnx'), SESSION_OPTIONS);
  let tokens = 0;
  let next = 0;
  /** One batch of prompts, encoded and decoded until every row has ended; returns the tokens before EOS. */
  const oneBatch = async (): Promise<number> => {
    let count = 0;
    const sources = Array.from({ length: batch }, () => [gen.roles!.user, ...tok.encode(PROMPTS[next++ % PROMPTS.length])]);
    const S = Math.max(...sources.map((s) => s.length));
    const ids = new BigInt64Array(batch * S).fill(BigInt(gen.pad));
    sources.forEach((s, i) => s.forEach((t, j) => (ids[i * S + j] = BigInt(t))));
    const enc = await encoder.run({ [gen.encoder.input]: new ort.Tensor('int64', ids, [batch, S]) });
    const memory = Object.fromEntries(gen.encoder.memory.map((name) => [name, enc[name]]));
    let stateFeeds = Object.fromEntries(Object.entries(initial).map(([input, output]) => [input, enc[output]]));
    let prev = new ort.Tensor('int64', new BigInt64Array(batch).fill(BigInt(gen.bos)), [batch]);
    const ended = new Uint8Array(batch);
    for (let step = 0, live = batch; step < gen.maxNewTokens && live > 0; step++) {
      const out = await decoder.run({ [gen.decoder.prevToken]: prev, ...stateFeeds, ...memory });
      stateFeeds = Object.fromEntries(states.map((st) => [st.input, out[st.output]]));
      const logits = out[gen.decoder.logits].data as Float32Array;
      const V = out[gen.decoder.logits].dims[1];
      const ids1 = new BigInt64Array(batch);
      for (let b = 0; b < batch; b++) {
        const id = argmax(logits.subarray(b * V, (b + 1) * V));
        ids1[b] = BigInt(id);
        if (ended[b]) continue;
        if (id === gen.eos) {
          ended[b] = 1;
          live--;
        } else count++;
      }
      prev = new ort.Tensor('int64', ids1, [batch]);
    }
    return count;
  };
  for (let i = 0; i < 3; i++) await oneBatch(); // warm-up
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) tokens += await oneBatch();
  const elapsed = (performance.now() - t0) / 1000;
  await encoder.release();
  await decoder.release();
  return tokens / elapsed;
}

/**
 * The generation engine in-process (no HTTP): `concurrency` closed-loop consumers of generate(),
 * the same prompts and greedy decoding as the HTTP clients. Separates what the engine (scheduling,
 * batching, sampling, detokenizing) costs from what the HTTP path adds.
 */
async function engineInProcess(concurrency: number, seconds: number): Promise<number> {
  const manifest = chatManifest();
  const sessions = Object.fromEntries(
    await Promise.all(Object.entries(manifest.graphs).map(async ([name, g]) => [name, await ort.InferenceSession.create(path.join(MODEL_DIR, g.file), SESSION_OPTIONS)] as const)),
  );
  const runners = Object.fromEntries(
    Object.entries(sessions).map(([name, s]) => [name, { inputNames: s.inputNames, outputNames: s.outputNames, run: (feeds: Record<string, ort.Tensor>) => s.run(feeds) }]),
  );
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
  const runs: Run[] = [];
  const serve = async (label: string, extra: string[], concurrencies: number[]) => {
    const server = await spawnServer(['--intra-op-threads', '1', '--models', MODELS, ...extra]);
    const url = `http://127.0.0.1:${server.httpPort}`;
    try {
      await closedLoop(url, 4, 1, 'warm-up');
      for (const c of concurrencies) runs.push(await closedLoop(url, c, seconds, label, server.child.pid));
    } finally {
      await server.stop();
    }
  };
  await serve('graphs in executor threads', [], [1, 8, 32, 128]);
  await serve('graphs on the main thread (`--executors off`)', ['--executors', 'off'], [32]);
  const oneAtATime = runs[0];
  const engine32 = await engineInProcess(32, seconds);
  const engine1 = await engineInProcess(1, seconds);
  const raw32 = await rawBatched(32, 200);
  const raw1 = await rawBatched(1, 200);
  const pipeline32 = await rawPipeline(32, seconds);
  const rate = (r: Run) => r.tokens / r.seconds;
  const us = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(0));
  const rows = runs.map(
    (r) =>
      `| ${r.label} | ${r.concurrency} | ${rate(r).toFixed(0)} | ${(rate(r) / rate(oneAtATime)).toFixed(1)}× | ${percentile(r.ttft, 50).toFixed(1)} | ${percentile(r.ttft, 99).toFixed(1)} | ${r.ttft.length} | ${us(r.cpu?.main)} | ${us(r.cpu?.others)} | ${us(r.cpu?.client)} |`,
  );
  const at32 = runs.find((r) => r.concurrency === 32)!;
  return [
    '### Chat generation (`chat` model, streaming SSE over loopback, greedy)',
    '',
    `Closed loop for ${seconds} s per row: each client sends its next request when the last one ends. "One at a time" is the first concurrency-1 row. CPU columns: µs of CPU time per generated token in the server's main thread, in its other threads (the encoder worker, ONNX Runtime, GC), and in the load generator (this process, on the same cores).`,
    '',
    '| server | concurrent streams | tokens/s (aggregate) | vs one at a time | TTFT p50 ms | TTFT p99 ms | requests | main µs/token | other threads µs/token | client µs/token |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Raw onnxruntime-node in-process, same decoder, greedy steps (1 intra-op thread): batch 32 → ${raw32.toFixed(0)} tokens/s, batch 1 → ${raw1.toFixed(0)} tokens/s.`,
    `The generation engine in-process (no HTTP, same prompts, closed loop, encoder on the same thread): 32 consumers → ${engine32.toFixed(0)} tokens/s, 1 consumer → ${engine1.toFixed(0)} tokens/s.`,
    `Raw pipeline in-process (the goal's yardstick: 32 prompts encoded in one run, then batch-32 greedy steps until all have ended, ended rows riding along; only tokens before EOS count): ${pipeline32.toFixed(0)} tokens/s.`,
    `At 32 concurrent streams the server reaches ${((rate(at32) / pipeline32) * 100).toFixed(0)} % of the raw pipeline (${((rate(at32) / raw32) * 100).toFixed(0)} % of the raw decoder steps alone) and ${(rate(at32) / rate(oneAtATime)).toFixed(1)}× the one-at-a-time rate.`,
  ].join('\n');
}
