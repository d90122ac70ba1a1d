/**
 * In the page: onnxruntime-web (wasm) in headless Chromium on seqserve's demo page, 1 and 2 wasm
 * threads, beside onnxruntime-node (1 and 2 intra-op threads) on the same graphs and inputs, batch 1:
 * a tagging call, one ASR chunk, one decoder step of the chat and caption models. Then the chat
 * model in the page through the client library: load time (first visit, second visit) and time to
 * first token, beside the server's time to first token over HTTP streaming.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { chromium, type Page } from 'playwright-core';
import { pino } from 'pino';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { startServer } from '../server/start-server.ts';
import { randomFeeds } from '../test/helpers/graph-feeds.ts';
import { percentile } from './stats.ts';

const CASES: { label: string; model: string; graph: string }[] = [
  { label: 'slot tagging call (one sentence)', model: 'slots', graph: 'tagger' },
  { label: 'ASR chunk (240 ms)', model: 'asr', graph: 'acoustic' },
  { label: 'chat decoder step', model: 'chat', graph: 'decoder' },
  { label: 'caption decoder step', model: 'caption', graph: 'decoder' },
];
const PROMPT = 'i want to fly from taipei to tokyo on march 3rd';

type Wire = Record<string, { type: string; dims: readonly number[]; data: number[] }>;

async function nativeTimes(file: string, feeds: Record<string, ortNode.Tensor>, threads: number, n: number): Promise<number[]> {
  const s = await ortNode.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  for (let i = 0; i < 20; i++) await s.run(feeds);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    out.push(performance.now() - t0);
  }
  await s.release();
  return out.sort((a, b) => a - b);
}

/** Runs a graph n times in the page (after 20 warm-up runs) and returns the times, sorted. */
function pageTimes(page: Page, url: string, wire: Wire, n: number): Promise<number[]> {
  return page.evaluate(
    async ({ url, wire, n }) => {
      const { ort } = (window as unknown as { seqserve: { ort: typeof import('onnxruntime-web') } }).seqserve;
      const session = await ort.InferenceSession.create(new Uint8Array(await (await fetch(url)).arrayBuffer()), { executionProviders: ['wasm'] });
      const feeds = Object.fromEntries(
        Object.entries(wire).map(([k, t]) => [
          k,
          t.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(t.data, BigInt), t.dims) : new ort.Tensor('float32', Float32Array.from(t.data), t.dims),
        ]),
      );
      for (let i = 0; i < 20; i++) await session.run(feeds);
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        out.push(performance.now() - t0);
      }
      await session.release();
      return out.sort((a, b) => a - b);
    },
    { url, wire, n },
  );
}

export async function benchInPage(n = Number(process.env.BENCH_WASM_RUNS ?? 300)): Promise<string> {
  const server = await startServer(
    { ...DEFAULT_CONFIG, modelsDir: BUNDLED_MODELS_DIR, host: '127.0.0.1', httpPort: 0, grpcPort: 0, runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'] } },
    pino({ level: 'silent' }),
  );
  const base = `http://127.0.0.1:${server.httpPort}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const pages: Page[] = [];
    for (const threads of [1, 2]) {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-ready=true]');
      await page.evaluate((t) => {
        const { env } = (window as unknown as { seqserve: { ort: typeof import('onnxruntime-web') } }).seqserve.ort;
        env.wasm.numThreads = t;
        env.wasm.wasmPaths = `${location.origin}/ort/`;
      }, threads);
      pages.push(page);
    }
    const isolated = await pages[0].evaluate(() => crossOriginIsolated);
    const rows: string[] = [];
    for (const c of CASES) {
      const dir = path.join(BUNDLED_MODELS_DIR, c.model);
      const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
      const file = path.join(dir, manifest.graphs[c.graph].file);
      const probe = await ortNode.InferenceSession.create(file);
      const feeds = randomFeeds(probe, manifest, { seed: 3, batch: 1, length: 12 });
      await probe.release();
      const wire: Wire = Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [k, { type: t.type, dims: t.dims, data: Array.from(t.data as Float32Array | BigInt64Array, Number) }]),
      );
      const url = `/v1/models/${c.model}/files/${manifest.graphs[c.graph].file}`;
      const native1 = percentile(await nativeTimes(file, feeds, 1, n), 50);
      const native2 = percentile(await nativeTimes(file, feeds, 2, n), 50);
      const page1 = await pageTimes(pages[0], url, wire, n);
      const page2 = await pageTimes(pages[1], url, wire, n);
      const best = Math.min(percentile(page1, 50), percentile(page2, 50));
      rows.push(
        `| ${c.label} | ${native1.toFixed(3)} | ${native2.toFixed(3)} | ${percentile(page1, 50).toFixed(3)} | ${percentile(page2, 50).toFixed(3)} | ${percentile(page2, 99).toFixed(3)} | ${(best / native1).toFixed(1)}× |`,
      );
    }

    // the chat model through the client library in a fresh page: load, then time to first token
    const chatPage = await browser.newPage();
    await chatPage.goto(`${base}/`);
    await chatPage.waitForSelector('body[data-ready=true]');
    const inPage = await chatPage.evaluate(
      async ({ prompt, runs }) => {
        const { loadWebModel } = (
          window as unknown as { seqserve: { loadWebModel: (u: string, m: string) => Promise<{ chat: (m: object[], o: object) => AsyncGenerator<string> }> } }
        ).seqserve;
        let t0 = performance.now();
        await loadWebModel(location.origin, 'chat');
        const firstLoad = performance.now() - t0;
        t0 = performance.now();
        const model = await loadWebModel(location.origin, 'chat');
        const secondLoad = performance.now() - t0;
        const ttft: number[] = [];
        const total: number[] = [];
        for (let i = 0; i < runs; i++) {
          t0 = performance.now();
          let first = 0;
          for await (const d of model.chat([{ role: 'user', content: prompt }], { temperature: 0 })) if (!first && d) first = performance.now() - t0;
          ttft.push(first);
          total.push(performance.now() - t0);
        }
        return { firstLoad, secondLoad, ttft: ttft.sort((a, b) => a - b), total: total.sort((a, b) => a - b) };
      },
      { prompt: PROMPT, runs: 30 },
    );
    const serverTtft: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: PROMPT }], temperature: 0, stream: true }),
      });
      const reader = res.body!.getReader();
      let text = '';
      let first = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        if (!first && /"content":"[^"]/.test(text)) first = performance.now() - t0;
      }
      serverTtft.push(first);
    }
    serverTtft.sort((a, b) => a - b);
    return [
      '### In the page: onnxruntime-web (wasm) in Chromium vs onnxruntime-node, batch 1',
      '',
      `Headless Chromium (Debian's) on seqserve's demo page (cross-origin isolated: ${isolated}); ${n} runs each after 20 warm-up runs; times in ms (p50 unless marked).`,
      '',
      '| graph | native 1 thread | native 2 threads | page wasm 1 thread | page wasm 2 threads | page 2 threads p99 | best page / native 1 thread |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `Chat model in the page (client library, 1 wasm thread by default on 2 cores): load ${inPage.firstLoad.toFixed(0)} ms on the first visit, ${inPage.secondLoad.toFixed(0)} ms again (files revalidated, not downloaded); time to first token p50 ${percentile(inPage.ttft, 50).toFixed(1)} ms (p99 ${percentile(inPage.ttft, 99).toFixed(1)}), whole reply p50 ${percentile(inPage.total, 50).toFixed(1)} ms. Server over HTTP streaming on loopback, same prompt: time to first token p50 ${percentile(serverTtft, 50).toFixed(1)} ms (p99 ${percentile(serverTtft, 99).toFixed(1)}).`,
    ].join('\n');
  } finally {
    await browser.close();
    await server.close();
  }
}
