/**
 * Captioning and spoken QA through the server: captions/s and latency with 1, 8 and 32 concurrent
 * clients (POST /v1/captions over loopback, closed loop), beside raw onnxruntime-node captioning
 * the same images in-process (encoder, then greedy decoder steps) one at a time and 32 at a time;
 * and spoken-QA latency per story with its real-time factor.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { argmax } from '../server/core/generation/log-probs.ts';
import { imageTensor } from '../server/core/image/image-tensor.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { spawnServer } from './spawn-server.ts';
import { percentile, timeCallsFor } from './stats.ts';

const MODELS = process.env.BENCH_MODELS ?? path.resolve(import.meta.dirname, '..', 'models');
const CAPTION_DIR = path.join(MODELS, 'caption');
const SAMPLE = path.join(CAPTION_DIR, 'heldout-sample');

interface Row {
  concurrency: number;
  captions: number;
  seconds: number;
  latency: number[];
}

async function closedLoop(client: SeqserveHttpClient, images: Uint8Array[], concurrency: number, seconds: number): Promise<Row> {
  const { seconds: elapsed, latency } = await timeCallsFor(concurrency, seconds, (i) => client.caption(images[i % images.length]));
  return { concurrency, captions: latency.length, seconds: elapsed, latency };
}

/** Raw onnxruntime-node: captions of `batch` images at a time (greedy, until every one ends). */
async function rawCaptions(pngs: Uint8Array[], batch: number, rounds: number): Promise<number> {
  const { default: sharp } = await import('sharp');
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(CAPTION_DIR, 'manifest.json'), 'utf8')));
  const spec = manifest.image!;
  const { bos, eos } = manifest.generation!;
  const pixels = await Promise.all(
    pngs.map(async (p) => {
      const { data, info } = await sharp(p).removeAlpha().resize(spec.width, spec.height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      return imageTensor(data, info.width, info.height, 3, spec).pixels;
    }),
  );
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const encoder = await ort.InferenceSession.create(path.join(CAPTION_DIR, 'encoder.onnx'), opts);
  const decoder = await ort.InferenceSession.create(path.join(CAPTION_DIR, 'decoder.onnx'), opts);
  const size = 3 * spec.width * spec.height;
  let captions = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    const input = new Float32Array(batch * size);
    for (let b = 0; b < batch; b++) input.set(pixels[(r * batch + b) % pixels.length], b * size);
    const enc = await encoder.run({ image: new ort.Tensor('float32', input, [batch, 3, spec.height, spec.width]) });
    let h = enc.h0;
    let c = enc.c0;
    let prev = new ort.Tensor('int64', new BigInt64Array(batch).fill(BigInt(bos)), [batch]);
    const done = new Array<boolean>(batch).fill(false);
    for (let s = 0; s < 24 && done.some((d) => !d); s++) {
      const out = await decoder.run({ prev_token: prev, h_in: h, c_in: c, memory: enc.memory, keys: enc.keys });
      h = out.h_out;
      c = out.c_out;
      const logits = out.logits.data as Float32Array;
      const V = out.logits.dims[1];
      const next = new BigInt64Array(batch);
      for (let b = 0; b < batch; b++) {
        const best = argmax(logits.subarray(b * V, (b + 1) * V));
        next[b] = BigInt(best);
        if (best === eos) done[b] = true;
      }
      prev = new ort.Tensor('int64', next, [batch]);
    }
    captions += batch;
  }
  const seconds = (performance.now() - t0) / 1000;
  await encoder.release();
  await decoder.release();
  return captions / seconds;
}

/** Spoken QA over the committed sample's stories, if re-created audio is given (BENCH_QA_DIR of WAVs), else skipped. */
async function speechQaLatency(client: SeqserveHttpClient): Promise<string> {
  const dir = process.env.BENCH_QA_DIR;
  if (!dir) return "Spoken QA: set BENCH_QA_DIR to a folder of story WAVs (e.g. the recipe's spoken test set) to measure it.";
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('-story.wav'))
    .slice(0, 40);
  const latency: number[] = [];
  let audioSeconds = 0;
  const t0 = performance.now();
  for (const f of files) {
    const wav = new Uint8Array(readFileSync(path.join(dir, f)));
    const a = decodeWav(wav);
    audioSeconds += a.samples.length / a.sampleRate;
    const s = performance.now();
    await client.speechQa(wav, { text: 'where is mary' }, ['the kitchen', 'the garden']);
    latency.push(performance.now() - s);
  }
  const wall = (performance.now() - t0) / 1000;
  latency.sort((a, b) => a - b);
  return `Spoken QA, one story at a time (${files.length} stories, ${(audioSeconds / files.length).toFixed(1)} s of audio each on average; recognition with the default beam + LM): p50 ${percentile(latency, 50).toFixed(0)} ms, p99 ${percentile(latency, 99).toFixed(0)} ms per story, real-time factor ${(wall / audioSeconds).toFixed(3)}.`;
}

export async function benchCaptionQa(seconds = Number(process.env.BENCH_CAPTION_SECONDS ?? 6)): Promise<string> {
  const pngs = readdirSync(SAMPLE)
    .filter((f) => f.endsWith('.png'))
    .map((f) => new Uint8Array(readFileSync(path.join(SAMPLE, f))));
  const server = await spawnServer(['--intra-op-threads', '1', '--models', MODELS]);
  const client = new SeqserveHttpClient(`http://127.0.0.1:${server.httpPort}`);
  const rows: Row[] = [];
  let qa: string;
  try {
    await closedLoop(client, pngs, 4, 1);
    for (const c of [1, 8, 32]) rows.push(await closedLoop(client, pngs, c, seconds));
    qa = await speechQaLatency(client);
  } finally {
    await server.stop();
  }
  const raw1 = await rawCaptions(pngs, 1, 100);
  const raw32 = await rawCaptions(pngs, 32, 10);
  const rate = (r: Row) => r.captions / r.seconds;
  return [
    '### Image captioning (`caption` model, POST /v1/captions over loopback, greedy)',
    '',
    `Closed loop for ${seconds} s per row; PNGs from the committed held-out sample.`,
    '',
    '| concurrent clients | captions/s | vs one at a time | latency p50 ms | latency p99 ms |',
    '|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${rate(r).toFixed(0)} | ${(rate(r) / rate(rows[0])).toFixed(1)}× | ${percentile(r.latency, 50).toFixed(1)} | ${percentile(r.latency, 99).toFixed(1)} |`,
    ),
    '',
    `Raw onnxruntime-node in-process (encoder + greedy decoder steps, 1 intra-op thread): one image at a time → ${raw1.toFixed(0)} captions/s, 32 at a time → ${raw32.toFixed(0)} captions/s.`,
    '',
    qa,
  ].join('\n');
}
