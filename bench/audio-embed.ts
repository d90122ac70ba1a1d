/**
 * Audio word2vec through the server (`BENCH_ONLY=audio-embed`): POST /v1/audio/embeddings of one
 * held-out sample word per request, and spoken term search (POST .../search of a sample word in a
 * collection of the sample's spoken documents), each with 1 and 16 concurrent clients (closed loop
 * over loopback): requests/s and latency; plus indexing one document.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { spawnServer } from './spawn-server.ts';
import { percentile, timeCallsFor } from './stats.ts';

const MODELS = process.env.BENCH_MODELS ?? path.resolve(import.meta.dirname, '..', 'models');
const SAMPLE = path.join(MODELS, 'audio_word2vec', 'heldout-sample');

interface Row {
  what: string;
  concurrency: number;
  requests: number;
  seconds: number;
  latency: number[];
}

async function closedLoop(what: string, concurrency: number, seconds: number, call: (i: number) => Promise<unknown>): Promise<Row> {
  const { seconds: elapsed, latency } = await timeCallsFor(concurrency, seconds, call);
  return { what, concurrency, requests: latency.length, seconds: elapsed, latency };
}

export async function benchAudioEmbed(seconds = Number(process.env.BENCH_AUDIO_SECONDS ?? 6)): Promise<string> {
  const lines = (f: string) =>
    readFileSync(path.join(SAMPLE, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string });
  const words = lines('words.jsonl').map((w) => new Uint8Array(readFileSync(path.join(SAMPLE, w.file))));
  const docs = lines('documents.jsonl').map((d) => new Uint8Array(readFileSync(path.join(SAMPLE, d.file))));
  const server = await spawnServer(['--intra-op-threads', '1', '--models', path.join(MODELS, 'audio_word2vec')]);
  const client = new SeqserveHttpClient(`http://127.0.0.1:${server.httpPort}`);
  const rows: Row[] = [];
  let indexMs: number[] = [];
  try {
    await closedLoop('warm-up', 4, 1, (i) => client.audioEmbeddings([words[i % words.length]]));
    const t = docs.map(() => 0);
    for (const [i, d] of docs.entries()) {
      const t0 = performance.now();
      await client.addAudioDocument('bench', d, { id: `d${i}` });
      t[i] = performance.now() - t0;
    }
    indexMs = t;
    for (const c of [1, 16]) rows.push(await closedLoop('embeddings', c, seconds, (i) => client.audioEmbeddings([words[i % words.length]])));
    for (const c of [1, 16]) rows.push(await closedLoop('search', c, seconds, (i) => client.searchAudio('bench', words[i % words.length], { topK: 5 })));
  } finally {
    await server.stop();
  }
  const segments = docs.length;
  return [
    '### Audio word2vec (`audio_word2vec`, POST /v1/audio/embeddings and spoken term search over loopback)',
    '',
    `Closed loop for ${seconds} s per row, 1 intra-op thread; queries are the committed held-out sample's words (0.4-1.2 s each); search ranks the segments of the sample's ${segments} spoken documents.`,
    '',
    '| request | concurrent clients | requests/s | latency p50 ms | latency p99 ms |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.what} | ${r.concurrency} | ${(r.requests / r.seconds).toFixed(0)} | ${percentile(r.latency, 50).toFixed(1)} | ${percentile(r.latency, 99).toFixed(1)} |`,
    ),
    '',
    `Indexing a spoken document (POST .../documents: segmenting and embedding every candidate segment): ${indexMs.map((m) => m.toFixed(0)).join(', ')} ms.`,
  ].join('\n');
}
