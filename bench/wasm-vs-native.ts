/**
 * onnxruntime-web (wasm, the browser's runtime; here run in Node, one thread) beside onnxruntime-node
 * (one intra-op thread) on the same graphs and inputs, batch 1: a tagging call, one ASR chunk, one
 * decoder step of the chat and caption models. In-page numbers (wasm threads on) need the browser.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { parseManifest } from '../server/core/manifest.ts';
import { randomFeeds, webFeeds } from '../test/helpers/graph-feeds.ts';
import { percentile } from './stats.ts';

const MODELS = process.env.BENCH_MODELS ?? path.resolve(import.meta.dirname, '..', 'models');
const CASES: { label: string; model: string; graph: string }[] = [
  { label: 'slot tagging call (one sentence)', model: 'slots', graph: 'tagger' },
  { label: 'ASR chunk (240 ms)', model: 'asr', graph: 'acoustic' },
  { label: 'chat decoder step', model: 'chat', graph: 'decoder' },
  { label: 'caption decoder step', model: 'caption', graph: 'decoder' },
];

async function time(run: () => Promise<unknown>, n: number): Promise<number[]> {
  for (let i = 0; i < 20; i++) await run();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

export async function benchWasmVsNative(n = Number(process.env.BENCH_WASM_RUNS ?? 300)): Promise<string> {
  ortWeb.env.wasm.numThreads = 1;
  const rows: string[] = [];
  for (const c of CASES) {
    const dir = path.join(MODELS, c.model);
    const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
    const file = path.join(dir, manifest.graphs[c.graph].file);
    const node = await ortNode.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const web = await ortWeb.InferenceSession.create(file);
    const feeds = randomFeeds(node, manifest, { seed: 3, batch: 1, length: 12 });
    const forWeb = webFeeds(feeds);
    const native = await time(() => node.run(feeds), n);
    const wasm = await time(() => web.run(forWeb), n);
    rows.push(
      `| ${c.label} | ${percentile(native, 50).toFixed(3)} | ${percentile(wasm, 50).toFixed(3)} | ${(percentile(wasm, 50) / percentile(native, 50)).toFixed(1)}× | ${percentile(wasm, 99).toFixed(3)} |`,
    );
    await node.release();
    await web.release();
  }
  return [
    '### onnxruntime-web (wasm) vs onnxruntime-node, batch 1',
    '',
    `${n} runs each after 20 warm-up runs, one thread each; wasm run in Node (the browser's runtime, without wasm threads or WebGPU).`,
    '',
    '| graph | native p50 ms | wasm p50 ms | wasm / native | wasm p99 ms |',
    '|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
