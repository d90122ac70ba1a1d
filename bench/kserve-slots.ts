/**
 * KServe infer of the slot tagger: over HTTP (JSON), HTTP (binary extension) and gRPC against a
 * server in its own process, vs onnxruntime-node called directly in this process, at concurrency
 * 1 and 16. Prints p50/p99 and the latency the server adds at p50.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SeqserveGrpcClient } from '../clients/lib/grpc-client.ts';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { slotTaggerInputs } from '../test/helpers/slot-features.ts';
import { spawnServer } from './spawn-server.ts';
import { runLoad, table, type LoadResult } from './stats.ts';

export async function benchKserveSlots(requests: number): Promise<string> {
  const inputs = slotTaggerInputs('I would like to arrive Taipei on November 2nd');
  const session = await ort.InferenceSession.create(path.join(BUNDLED_MODELS_DIR, 'slots', 'tagger.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor('int64', BigInt64Array.from(i.data, BigInt), i.shape)]));
  const server = await spawnServer(['--providers', 'cpu']);
  const http = new SeqserveHttpClient(`http://127.0.0.1:${server.httpPort}`);
  const grpc = new SeqserveGrpcClient(`127.0.0.1:${server.grpcPort}`);
  const paths: [string, () => Promise<unknown>][] = [
    ['onnxruntime-node in-process', () => session.run(feeds)],
    ['HTTP KServe JSON', () => http.infer('slots', inputs)],
    ['HTTP KServe binary', () => http.infer('slots', inputs, { binary: true })],
    ['gRPC KServe ModelInfer', () => grpc.infer('slots', inputs)],
  ];
  const rows: LoadResult[] = [];
  try {
    for (const [, task] of paths) for (let i = 0; i < 200; i++) await task(); // warm-up
    for (const concurrency of [1, 16]) {
      for (const [label, task] of paths) rows.push(await runLoad(label, concurrency, requests, task));
    }
  } finally {
    grpc.close();
    await server.stop();
    await session.release();
  }
  const baseline = (r: LoadResult) => rows.find((b) => b.concurrency === r.concurrency && b.label.startsWith('onnxruntime-node'));
  return `### KServe infer, slot tagger (9 tokens), ${requests} requests per row\n\n${table(rows, baseline)}`;
}
