/**
 * Text classification (`BENCH_ONLY=text npm run bench`): `POST /predict` of the bundled spam model,
 * one held-out mail per request (the committed sample's 40 texts in turn, 35–512 tokens), driven by
 * wrk at 1 and 16 connections, against the server with dynamic batching on (the manifest's pad plan:
 * concurrent requests whose lengths fall in one power-of-two range share one run) and off; and the
 * same texts classified in this process by the core's TextClassifier over onnxruntime-node (tokenizer
 * and features included), one text per run and 16 per run (in sample order; and from the texts sorted
 * by token count, windows that do not wrap around). The rows per classifier run come from the server's /metrics.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tensor } from 'onnxruntime-common';
import * as ort from 'onnxruntime-node';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { TextClassifier } from '../server/core/classify/text-classifier.ts';
import type { TensorMap } from '../server/core/graph-runner.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { Vocabulary } from '../server/core/text/word-features.ts';
import { spawnServer } from './spawn-server.ts';
import { table, timeCallsFor, percentile, type LoadResult } from './stats.ts';
import { wrkLoad } from './wrk.ts';
import { batchedWrkLoad } from './batched-load.ts';

const SPAM = path.join(BUNDLED_MODELS_DIR, 'spam');

export async function benchTextClassify(seconds: number): Promise<string> {
  const texts = readFileSync(path.join(SPAM, 'heldout-sample.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(SPAM, 'manifest.json'), 'utf8')));
  const vocabulary = new Vocabulary(JSON.parse(readFileSync(path.join(SPAM, manifest.text!.vocabulary), 'utf8')) as string[]);
  const session = await ort.InferenceSession.create(path.join(SPAM, manifest.graphs.classifier.file), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const classifier = new TextClassifier(
    {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: async (feeds) => {
        const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('int64', t.data as BigInt64Array, t.dims)])));
        return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, new Tensor('float32', t.data as Float32Array, t.dims)])) as TensorMap;
      },
    },
    manifest.text!,
    vocabulary,
    manifest.classification!,
  );
  const rows: LoadResult[] = [];
  const notes: string[] = [];
  try {
    for (const t of texts) await classifier.classify([t], { truncate: true }); // warm-up
    /** `perRun` texts per run: from `starts` in turn (each a window of `order`), else consecutive texts of the sample, wrapping around. */
    const inProcess = async (label: string, perRun: number, order = texts, starts?: number[]) => {
      let done = 0;
      const { seconds: took, latency } = await timeCallsFor(1, seconds, async (i) => {
        const from = starts ? starts[i % starts.length] : i * perRun;
        const batch = Array.from({ length: perRun }, (_, k) => order[(from + k) % order.length]);
        await classifier.classify(batch, { truncate: true });
        done += perRun;
      });
      rows.push({ label, concurrency: 1, requests: done, seconds: took, p50: percentile(latency, 50), p99: percentile(latency, 99), perSecond: done / took });
    };
    await inProcess('in-process TextClassifier + onnxruntime-node, 1 text per run (texts/s)', 1);
    await inProcess('in-process TextClassifier + onnxruntime-node, 16 texts per run in sample order (texts/s; latency per run)', 16);
    const tokens = (t: string) => classifier.tokens(t, 'text', true).tokens.length;
    const byLength = [...texts].sort((a, b) => tokens(a) - tokens(b));
    const windows = Array.from({ length: Math.ceil(byLength.length / 16) }, (_, w) => Math.min(w * 16, byLength.length - 16));
    await inProcess('in-process TextClassifier + onnxruntime-node, 16 texts per run of similar length (texts/s; latency per run)', 16, byLength, windows);
    const bodies = texts.map((t) => new TextEncoder().encode(JSON.stringify({ inputs: t, truncate: true })));
    const headers = { 'Content-Type': 'application/json' };
    for (const [what, flags] of [
      ['dynamic batching on (pad plan, length buckets)', []],
      ['--dynamic-batching off', ['--dynamic-batching', 'off']],
    ] as [string, string[]][]) {
      const server = await spawnServer(['--providers', 'cpu', '--models', SPAM, ...flags]);
      try {
        const http = `http://127.0.0.1:${server.httpPort}`;
        await wrkLoad('warm-up', `${http}/predict`, bodies, headers, 16, 1);
        for (const concurrency of [1, 16]) {
          const { row, perRun } = await batchedWrkLoad(http, 'spam.classifier', `HTTP POST /predict (wrk), ${what}`, `${http}/predict`, bodies, headers, concurrency, seconds);
          rows.push(row);
          notes.push(`- ${row.label}, ${concurrency} connection(s): ${(row.perSecond / rows[0].perSecond).toFixed(2)}× the in-process one-text rate; ${perRun}`);
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    await session.release();
  }
  return [
    '### Text classification: POST /predict of the spam model, one mail per request',
    '',
    `The committed held-out sample's 40 mails in turn (35–512 tokens), one per request; wrk ${seconds} s per row, the server of the spam model alone (CPU provider, 1 intra-op thread, executors on); in-process rows: the same texts through the core's TextClassifier for ${seconds} s. Servers run one after the other; wrk shares the cores.`,
    '',
    table(rows, () => undefined),
    '',
    ...notes,
  ].join('\n');
}
