/**
 * Dynamic batching side by side (issue 18, item 2; `BENCH_ONLY=batching npm run bench`): KServe
 * infer of the slot tagger over HTTP JSON at 16 concurrent wrk clients, the server with
 * `--dynamic-batching on` (its default, queue delay 0), on with a 500 µs queue delay, and `off`, against onnxruntime-node
 * in this process one run at a time (the goal: ≥ 1.0× that rate). One server runs at a time;
 * wrk and the server share the machine's cores. The rows-per-run of each batching server is read
 * from its /metrics (seqserve_batch_size).
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { slotTaggerInputs } from '../test/helpers/slot-features.ts';
import { spawnServer } from './spawn-server.ts';
import { runLoad, table, type LoadResult } from './stats.ts';
import { wrkLoad } from './wrk.ts';
import { batchedWrkLoad } from './batched-load.ts';

export async function benchKserveBatching(requests: number, seconds: number): Promise<string> {
  const inputs = slotTaggerInputs('I would like to arrive Taipei on November 2nd');
  const session = await ort.InferenceSession.create(path.join(BUNDLED_MODELS_DIR, 'slots', 'tagger.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor('int64', BigInt64Array.from(i.data, BigInt), i.shape)]));
  const json = new TextEncoder().encode(JSON.stringify({ inputs }));
  const headers = { 'Content-Type': 'application/json' };
  const rows: LoadResult[] = [];
  const notes: string[] = [];
  try {
    for (let i = 0; i < 300; i++) await session.run(feeds); // warm-up
    const raw = await runLoad('onnxruntime-node in-process, one run at a time', 1, requests, () => session.run(feeds));
    rows.push(raw);
    const servers: [string, string[]][] = [
      ['HTTP KServe JSON (wrk), --dynamic-batching on (default, delay 0)', []],
      ['HTTP KServe JSON (wrk), --dynamic-batching on --batch-delay 500', ['--batch-delay', '500']],
      ['HTTP KServe JSON (wrk), --dynamic-batching off', ['--dynamic-batching', 'off']],
    ];
    for (const [label, flags] of servers) {
      const server = await spawnServer(['--providers', 'cpu', '--models', path.join(BUNDLED_MODELS_DIR, 'slots'), ...flags]);
      try {
        const url = `http://127.0.0.1:${server.httpPort}/v2/models/slots/infer`;
        const http = `http://127.0.0.1:${server.httpPort}`;
        await wrkLoad('warm-up', url, json, headers, 16, 1);
        const { row, perRun } = await batchedWrkLoad(http, 'slots.tagger', label, url, json, headers, 16, seconds);
        rows.push(row);
        notes.push(`- ${label}: ${(row.perSecond / raw.perSecond).toFixed(2)}× the in-process one-at-a-time rate; ${perRun}`);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await session.release();
  }
  return [
    '### Dynamic batching: KServe infer of the slot tagger, 16 HTTP clients, batching on vs off',
    '',
    `One 9-token sentence, HTTP JSON driven by wrk (16 connections, ${seconds} s per row) against a server of the slot model alone (--models models/slots, CPU provider, 1 intra-op thread, executors on); in-process row: ${requests} runs one at a time. Servers run one after the other; wrk shares the cores.`,
    '',
    table(rows, (r) => (r === rows[0] ? undefined : rows[0])),
    '',
    ...notes,
  ].join('\n');
}
