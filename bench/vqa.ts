/**
 * Visual question answering through the server: answers/s and latency with 1 and 16 concurrent
 * clients (POST /v1/vqa multipart over loopback, closed loop) on the committed held-out sample,
 * beside raw onnxruntime-node answering the same image-question pairs in-process one at a time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { imageTensor } from '../server/core/image/image-tensor.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { QuestionVocabulary } from '../server/core/vqa/question-tokens.ts';
import { spawnServer } from './spawn-server.ts';
import { percentile, timeCallsFor } from './stats.ts';

const MODELS = process.env.BENCH_MODELS ?? path.resolve(import.meta.dirname, '..', 'models');
const VQA_DIR = path.join(MODELS, 'vqa');
const SAMPLE = path.join(VQA_DIR, 'heldout-sample');

interface Row {
  concurrency: number;
  answers: number;
  seconds: number;
  latency: number[];
}

async function closedLoop(client: SeqserveHttpClient, items: { png: Uint8Array; question: string }[], concurrency: number, seconds: number): Promise<Row> {
  const { seconds: elapsed, latency } = await timeCallsFor(concurrency, seconds, async (i) => {
    const { png, question } = items[i % items.length];
    await client.vqa(png, question);
  });
  return { concurrency, answers: latency.length, seconds: elapsed, latency };
}

/** Raw onnxruntime-node, one pair per run: the graph's own latency (p50 ms). */
async function rawLatency(items: { png: Uint8Array; question: string }[], rounds: number): Promise<number> {
  const { default: sharp } = await import('sharp');
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(VQA_DIR, 'manifest.json'), 'utf8')));
  const spec = manifest.image!;
  const vqa = manifest.vqa!;
  const vocab = new QuestionVocabulary(JSON.parse(readFileSync(path.join(VQA_DIR, vqa.vocab), 'utf8')) as string[], vqa.maxQuestionWords);
  const session = await ort.InferenceSession.create(path.join(VQA_DIR, manifest.graphs.vqa.file), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = await Promise.all(
    items.map(async ({ png, question }) => {
      const { data, info } = await sharp(png).removeAlpha().resize(spec.width, spec.height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      const ids = vocab.encode(question);
      return {
        [vqa.image]: new ort.Tensor('float32', imageTensor(data, info.width, info.height, 3, spec).pixels, [1, 3, spec.height, spec.width]),
        [vqa.question]: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      };
    }),
  );
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await session.run(feeds[r % feeds.length]);
    times.push(performance.now() - t0);
  }
  await session.release();
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

export async function benchVqa(seconds = Number(process.env.BENCH_VQA_SECONDS ?? 6)): Promise<string> {
  const items = readFileSync(path.join(SAMPLE, 'questions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { image: string; question: string })
    .map((q) => ({ png: new Uint8Array(readFileSync(path.join(SAMPLE, q.image))), question: q.question }));
  const server = await spawnServer(['--intra-op-threads', '1', '--models', VQA_DIR]);
  const client = new SeqserveHttpClient(`http://127.0.0.1:${server.httpPort}`);
  const rows: Row[] = [];
  try {
    await closedLoop(client, items, 4, 1);
    for (const c of [1, 16]) rows.push(await closedLoop(client, items, c, seconds));
  } finally {
    await server.stop();
  }
  const raw = await rawLatency(items, 200);
  const rate = (r: Row) => r.answers / r.seconds;
  return [
    '### Visual question answering (`vqa` model, POST /v1/vqa multipart over loopback)',
    '',
    `Closed loop for ${seconds} s per row; the ${items.length} image-question pairs of the committed held-out sample (64×64 PNGs).`,
    '',
    '| concurrent clients | answers/s | vs one at a time | latency p50 ms | latency p99 ms |',
    '|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${rate(r).toFixed(0)} | ${(rate(r) / rate(rows[0])).toFixed(1)}× | ${percentile(r.latency, 50).toFixed(1)} | ${percentile(r.latency, 99).toFixed(1)} |`,
    ),
    '',
    `Raw onnxruntime-node in-process (one pair per run, 1 intra-op thread): p50 ${raw.toFixed(2)} ms per answer.`,
  ].join('\n');
}
